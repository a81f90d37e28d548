import { crc32 } from 'node:zlib';
import { mkdir, open, readdir, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { openFrameBody, sealFrameBody } from './bufferKey.js';
import type { FrameHeader } from './frameSource.js';

/** A batch as stored and sent: the header says what it holds, the body is the gzip-compressed OTLP request. */
export interface Frame {
  header: FrameHeader;
  body: Buffer;
}

interface Segment {
  path: string;
  firstSeq: number;
  lastSeq: number;
  bytes: number;
}

// Frame layout: u32 length of the rest, u32 CRC-32 of the rest, u32 header length, header JSON, body.
// With a key, the header says `sealed` and the body is AES-256-GCM over the gzip bytes, the header authenticated with it.

interface BufferOptions {
  maxBytes: number;
  segmentBytes: number;
  fsync: boolean;
  /** AES-256 key: batch bodies (the log lines) are encrypted on disk. */
  key?: Buffer;
}
const prefixBytes = 8;

/**
 * The batches between reading and the server's acknowledgement, in segment
 * files under the agent's data dir: appended in sequence order, read back in
 * the same order by the shipper, deleted a segment at a time once every batch
 * in it was acknowledged. A torn frame at the end (the agent died mid-write)
 * is cut off at restart.
 */
export class DiskBuffer {
  private segments: Segment[] = [];
  private writer: FileHandle | undefined;
  private readSegment = 0;
  private readOffset = 0;
  private spaceWaiters: (() => void)[] = [];
  private dataWaiters: (() => void)[] = [];
  /** An append is writing to the last segment: it must not be deleted under it. */
  private appending = false;
  nextSeq = 1;

  private constructor(
    private readonly dir: string,
    private readonly options: BufferOptions,
    private readonly logger: Logger,
  ) {}

  /** Opens the buffer, keeping the frames after `ackedSeq`; returns their headers so reading resumes after them. */
  static async open(
    dir: string,
    options: BufferOptions,
    ackedSeq: number,
    logger: Logger,
  ): Promise<{ buffer: DiskBuffer; pending: FrameHeader[] }> {
    await mkdir(dir, { recursive: true });
    const buffer = new DiskBuffer(dir, options, logger);
    const pending: FrameHeader[] = [];
    const names = (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
    let lastSeq = ackedSeq;
    for (const name of names) {
      const path = join(dir, name);
      const headers = await scanSegment(path, logger);
      const segment: Segment = {
        path,
        firstSeq: headers.frames[0]?.seq ?? 0,
        lastSeq: headers.frames.at(-1)?.seq ?? 0,
        bytes: headers.validBytes,
      };
      if (headers.frames.length === 0 || segment.lastSeq <= ackedSeq) {
        await rm(path, { force: true });
        continue;
      }
      buffer.segments.push(segment);
      for (const header of headers.frames) if (header.seq > ackedSeq) pending.push(header);
      lastSeq = Math.max(lastSeq, segment.lastSeq);
    }
    buffer.nextSeq = lastSeq + 1;
    // The reader starts at the first frame not yet acknowledged.
    await buffer.skipAcknowledged(ackedSeq);
    return { buffer, pending };
  }

  get bytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.bytes;
    return total;
  }

  get isFull(): boolean {
    return this.bytes >= this.options.maxBytes;
  }

  /** Resolves once the buffer is below its cap (at once when it is). */
  waitForSpace(): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Appends a frame with the next sequence number (callers serialize appends). */
  async append(header: Omit<FrameHeader, 'seq'>, body: Buffer): Promise<FrameHeader> {
    const full: FrameHeader = { ...header, seq: this.nextSeq++ };
    const key = this.options.key;
    const headerBytes = Buffer.from(JSON.stringify(key ? { ...full, sealed: true } : full));
    const stored = key ? sealFrameBody(key, headerBytes, body) : body;
    const rest = Buffer.allocUnsafe(4 + headerBytes.length);
    rest.writeUInt32BE(headerBytes.length, 0);
    headerBytes.copy(rest, 4);
    const prefix = Buffer.allocUnsafe(prefixBytes);
    prefix.writeUInt32BE(rest.length + stored.length, 0);
    prefix.writeUInt32BE(crc32(stored, crc32(rest)), 4);

    this.appending = true;
    try {
      return await this.write(full, [prefix, rest, stored]);
    } catch (error) {
      // Not written: the retry takes the same sequence number.
      this.nextSeq = full.seq;
      throw error;
    } finally {
      this.appending = false;
    }
  }

  private async write(full: FrameHeader, parts: Buffer[]): Promise<FrameHeader> {
    let segment = this.segments.at(-1);
    if (!this.writer || !segment || segment.bytes >= this.options.segmentBytes) {
      await this.writer?.close();
      const path = join(this.dir, `${String(full.seq).padStart(16, '0')}.seg`);
      this.writer = await open(path, 'a');
      segment = { path, firstSeq: full.seq, lastSeq: full.seq, bytes: 0 };
      this.segments.push(segment);
    }
    try {
      // writev writes once: on a nearly full disk it returns fewer bytes than asked, without an error.
      const { bytesWritten } = await this.writer.writev(parts);
      const size = parts.reduce((sum, part) => sum + part.length, 0);
      if (bytesWritten !== size) throw new Error(`short write to the disk buffer: ${bytesWritten} of ${size} bytes (disk full?)`);
      if (this.options.fsync) await this.writer.datasync();
    } catch (error) {
      await this.cutTornWrite(segment);
      throw error;
    }
    segment.lastSeq = full.seq;
    for (const part of parts) segment.bytes += part.length;
    for (const wake of this.dataWaiters.splice(0)) wake();
    return full;
  }

  /**
   * A write cut short (a full disk) may have left part of a frame at the end of the segment: cut back to
   * the last whole frame, so the retried append lands where the reader expects it. If even that fails,
   * the next append starts a new segment (the reader never reads past `bytes`; a restart cuts the tail).
   */
  private async cutTornWrite(segment: Segment): Promise<void> {
    try {
      await this.writer!.truncate(segment.bytes);
    } catch {
      const writer = this.writer;
      this.writer = undefined;
      await writer?.close().catch(() => undefined);
      // A segment this append opened holds nothing: gone, so the retry's new one (same name) starts empty.
      if (segment.bytes === 0) {
        this.segments.splice(this.segments.indexOf(segment), 1);
        await rm(segment.path, { force: true }).catch(() => undefined);
      }
    }
  }

  /** The next frame the shipper has not taken yet; waits for one to be appended. */
  async next(): Promise<Frame> {
    for (;;) {
      const segment = this.segments[this.readSegment];
      if (segment && this.readOffset < segment.bytes) {
        const frame = await readFrame(segment.path, this.readOffset, false, this.options.key);
        this.readOffset += frame.size;
        return frame;
      }
      if (segment && this.readSegment < this.segments.length - 1) {
        this.readSegment++;
        this.readOffset = 0;
        continue;
      }
      await new Promise<void>((resolve) => this.dataWaiters.push(resolve));
    }
  }

  /** Every frame up to `seq` was acknowledged: segments holding only those are deleted. */
  async release(seq: number): Promise<void> {
    while (this.segments.length > 0 && this.segments[0].lastSeq <= seq && this.readSegment > 0) {
      const [segment] = this.segments.splice(0, 1);
      this.readSegment--;
      await rm(segment.path, { force: true });
    }
    // The segment being written is released too once all of it is acknowledged and read.
    const last = this.segments.at(-1);
    if (this.segments.length === 1 && last && last.lastSeq <= seq && this.readOffset >= last.bytes && !this.appending) {
      // Detached before the first await: an append arriving while the handle closes opens a new segment
      // instead of writing into this closing one, which would fail ('file closed') or be deleted below.
      const writer = this.writer;
      this.writer = undefined;
      this.segments = [];
      this.readSegment = 0;
      this.readOffset = 0;
      await writer?.close();
      await rm(last.path, { force: true });
    }
    if (!this.isFull) for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  async close(): Promise<void> {
    await this.writer?.close();
    this.writer = undefined;
  }

  private async skipAcknowledged(ackedSeq: number): Promise<void> {
    for (let index = 0; index < this.segments.length; index++) {
      const segment = this.segments[index];
      if (segment.lastSeq <= ackedSeq) continue;
      this.readSegment = index;
      this.readOffset = 0;
      while (this.readOffset < segment.bytes) {
        const frame = await readFrame(segment.path, this.readOffset, true);
        if (frame.header.seq > ackedSeq) return;
        this.readOffset += frame.size;
      }
    }
    this.logger.debug({ ackedSeq }, 'disk buffer holds nothing unacknowledged');
  }
}

async function readFrame(path: string, offset: number, headerOnly = false, key?: Buffer): Promise<Frame & { size: number }> {
  const handle = await open(path, 'r');
  try {
    const prefix = Buffer.alloc(prefixBytes);
    await handle.read(prefix, 0, prefixBytes, offset);
    const length = prefix.readUInt32BE(0);
    const rest = Buffer.allocUnsafe(headerOnly ? 4 : length);
    await handle.read(rest, 0, rest.length, offset + prefixBytes);
    const headerLength = rest.readUInt32BE(0);
    const headerBytes = headerOnly ? Buffer.allocUnsafe(headerLength) : rest.subarray(4, 4 + headerLength);
    if (headerOnly) await handle.read(headerBytes, 0, headerLength, offset + prefixBytes + 4);
    const { sealed, ...header } = JSON.parse(headerBytes.toString('utf8')) as FrameHeader & { sealed?: boolean };
    let body: Buffer = headerOnly ? Buffer.alloc(0) : rest.subarray(4 + headerLength);
    if (sealed && !headerOnly) {
      if (!key) throw new Error(`${path} holds encrypted batches: the agent needs its buffer key (buffer.key_file) to send them`);
      body = openFrameBody(key, headerBytes, body);
    }
    return { header, body, size: prefixBytes + length };
  } finally {
    await handle.close();
  }
}

/** The headers of a segment's intact frames; a torn or corrupt tail is cut off the file. */
async function scanSegment(path: string, logger: Logger): Promise<{ frames: FrameHeader[]; validBytes: number }> {
  const size = (await stat(path)).size;
  const frames: FrameHeader[] = [];
  const handle = await open(path, 'r');
  let offset = 0;
  try {
    while (offset + prefixBytes <= size) {
      const prefix = Buffer.alloc(prefixBytes);
      await handle.read(prefix, 0, prefixBytes, offset);
      const length = prefix.readUInt32BE(0);
      if (length < 4 || offset + prefixBytes + length > size) break;
      const rest = Buffer.allocUnsafe(length);
      await handle.read(rest, 0, length, offset + prefixBytes);
      if (crc32(rest) !== prefix.readUInt32BE(4)) break;
      const headerLength = rest.readUInt32BE(0);
      frames.push(JSON.parse(rest.toString('utf8', 4, 4 + headerLength)) as FrameHeader);
      offset += prefixBytes + length;
    }
  } finally {
    await handle.close();
  }
  if (offset < size) {
    logger.warn(
      { segment: path, validBytes: offset, size },
      'disk buffer segment ends in a torn frame; cutting it off (the lines are read again from the file)',
    );
    await truncate(path, offset);
  }
  return { frames, validBytes: offset };
}
