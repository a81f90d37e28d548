/**
 * A protobuf writer into one growing buffer: no object per field (protobufjs'
 * Writer queues one per field, garbage that cost the agent more than the
 * encoding itself). A nested message reserves five bytes for its length and
 * moves its content back once the length is known.
 */
export class ProtoWriter {
  private buffer: Buffer;
  private position = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.position + bytes));
    this.buffer.copy(grown, 0, 0, this.position);
    this.buffer = grown;
  }

  private varint(value: number): void {
    this.ensure(5);
    while (value > 0x7f) {
      this.buffer[this.position++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buffer[this.position++] = value;
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  uint32(field: number, value: number): void {
    this.tag(field, 0);
    this.varint(value >>> 0);
  }

  /** A fixed64 given as its low and high 32 bits. */
  fixed64(field: number, low: number, high: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.buffer.writeUInt32LE(low >>> 0, this.position);
    this.buffer.writeUInt32LE(high >>> 0, this.position + 4);
    this.position += 8;
  }

  string(field: number, value: string): void {
    this.tag(field, 2);
    const bytes = Buffer.byteLength(value);
    this.varint(bytes);
    this.ensure(bytes);
    this.position += this.buffer.write(value, this.position, bytes, 'utf8');
  }

  /** Bytes already encoded (a message encoded once and repeated). */
  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buffer, this.position);
    this.position += bytes.length;
  }

  /** Starts a nested message; returns the mark to hand to end(). */
  begin(field: number): number {
    this.tag(field, 2);
    this.ensure(5);
    const mark = this.position;
    this.position += 5;
    return mark;
  }

  end(mark: number): void {
    const length = this.position - mark - 5;
    let prefix = 1;
    for (let rest = length >>> 7; rest > 0; rest >>>= 7) prefix++;
    if (prefix < 5) this.buffer.copyWithin(mark + prefix, mark + 5, this.position);
    const end = this.position - (5 - prefix);
    this.position = mark;
    this.varint(length);
    this.position = end;
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.position);
  }
}
