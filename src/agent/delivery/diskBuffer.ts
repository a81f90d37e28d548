import { crc32 } from 'node:zlib';
import { mkdir, open, readdir, readFile, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { bufferKeyId, openFrameBody, sealFrameBody } from './bufferKey.js';
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
// With a key, the header says `sealed` and which key (`key_id`), and the body is AES-256-GCM over the gzip bytes, the
// header authenticated with it. The header JSON always opens with `{"records":`: after an unreadable frame, the next
// intact one is found by that mark and its CRC.

interface BufferOptions {
  maxBytes: number;
  segmentBytes: number;
  fsync: boolean;
  /** AES-256 key: batch bodies (the log lines) are encrypted on disk. */
  key?: Buffer;
  /** Where unreadable frames are moved aside for an operator; default `quarantine/` beside the buffer dir. */
  quarantineDir?: string;
}
const prefixBytes = 8;
const headerMark = Buffer.from('{"records":');

/** A frame that is on disk whole but cannot be read back (CRC, header or authentication): quarantined, not retried. */
class UnreadableFrame extends Error {}

/**
 * The batches between reading and the server's acknowledgement, in segment
 * files under the agent's data dir: appended in sequence order, read back in
 * the same order by the shipper, deleted a segment at a time once every batch
 * in it was acknowledged. A torn frame at the end (the agent died mid-write)
 * is cut off at restart. A frame that cannot be read back (bytes rotted or
 * overwritten on disk) is copied to the quarantine dir and skipped: the
 * frames after it are still sent.
 */
export class DiskBuffer {
  private segments: Segment[] = [];
  private writer: FileHandle | undefined;
  /** The segment `writer` appends to: read through that handle once its file is deleted, so the deletion loses nothing. */
  private writerSegment: Segment | undefined;
  private readSegment = 0;
  private readOffset = 0;
  private spaceWaiters: (() => void)[] = [];
  private dataWaiters: (() => void)[] = [];
  /** An append is writing to the last segment: it must not be deleted under it. */
  private appending = false;
  nextSeq = 1;
  /** Acknowledged segment files whose deletion failed, tried again at each release. */
  private readonly undeleted = new Set<string>();
  /** Frames moved to the quarantine dir since the start. */
  corruptFrames = 0;
  /** Segment files found deleted before their frames were read (by something other than the agent). */
  missingSegments = 0;
  /** The last frame whose write completed (at open: the last intact one found). */
  private writtenSeq = 0;
  /** The last frame next() handed out (at open: the last acknowledged). */
  private handedSeq = 0;
  /** Every frame up to this one was handed out by next() or moved aside unreadable. */
  private readSeq = 0;
  private readWaiters: { seq: number; resolve: (handed: number) => void }[] = [];

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
    const names = (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
    const scans: { segment: Segment; frames: ScannedFrame[] }[] = [];
    for (const [index, name] of names.entries()) {
      const path = join(dir, name);
      const scan = await scanSegment(path, index === names.length - 1, logger);
      scans.push({
        segment: { path, firstSeq: scan.frames[0]?.header.seq ?? 0, lastSeq: scan.frames.at(-1)?.header.seq ?? 0, bytes: scan.bytes },
        frames: scan.frames,
      });
    }
    // Reading resumes right after the last acknowledged frame: whatever lies before it (an unreadable frame too)
    // was sent, and whatever follows it, readable or not, was not.
    let start = { scan: 0, offset: 0 };
    scans.forEach(({ frames }, index) => {
      for (const frame of frames) if (frame.header.seq <= ackedSeq) start = { scan: index, offset: frame.offset + frame.size };
    });
    const pending: FrameHeader[] = [];
    let lastSeq = ackedSeq;
    for (const [index, { segment, frames }] of scans.entries()) {
      const from = index === start.scan ? start.offset : 0;
      if (index < start.scan || from >= segment.bytes) {
        await rm(segment.path, { force: true });
        continue;
      }
      if (buffer.segments.length === 0) buffer.readOffset = from;
      buffer.segments.push(segment);
      for (const frame of frames) if (frame.offset >= from) pending.push(frame.header);
      lastSeq = Math.max(lastSeq, segment.lastSeq);
    }
    buffer.nextSeq = lastSeq + 1;
    buffer.writtenSeq = lastSeq;
    buffer.handedSeq = buffer.readSeq = ackedSeq;
    if (buffer.segments.length === 0) logger.debug({ ackedSeq }, 'disk buffer holds nothing unacknowledged');
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
    // Spelled out, `records` first: the header mark a reader finds the next intact frame by.
    const full: FrameHeader = { records: header.records, sources: header.sources, seq: this.nextSeq++ };
    const key = this.options.key;
    const headerBytes = Buffer.from(JSON.stringify(key ? { ...full, sealed: true, key_id: bufferKeyId(key) } : full));
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
      this.writer = await open(path, 'a+');
      segment = { path, firstSeq: full.seq, lastSeq: full.seq, bytes: 0 };
      this.writerSegment = segment;
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
    this.writtenSeq = full.seq;
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
      this.writerSegment = undefined;
      await writer?.close().catch(() => undefined);
      // A segment this append opened holds nothing: gone, so the retry's new one (same name) starts empty.
      if (segment.bytes === 0) {
        this.segments.splice(this.segments.indexOf(segment), 1);
        await rm(segment.path, { force: true }).catch(() => undefined);
      }
    }
  }

  /** The next readable frame the shipper has not taken yet; waits for one to be appended. */
  async next(): Promise<Frame> {
    for (;;) {
      const segment = this.segments[this.readSegment];
      if (segment && this.readOffset < segment.bytes) {
        const read = await this.readAt(segment, this.readOffset);
        this.readOffset = read.next;
        if (read.frame) {
          this.handedSeq = read.frame.header.seq;
          this.readThrough(read.frame.header.seq);
          return read.frame;
        }
        continue;
      }
      if (segment && this.readSegment < this.segments.length - 1) {
        this.readSegment++;
        this.readOffset = 0;
        continue;
      }
      // Every byte written so far was read: each frame whose write completed was handed out or moved aside.
      this.readThrough(this.writtenSeq);
      await new Promise<void>((resolve) => this.dataWaiters.push(resolve));
    }
  }

  /**
   * Resolves once every frame up to `seq` was handed out by next() or moved
   * aside unreadable, with the last one handed out: an unreadable frame is
   * never acknowledged, so whoever waits for the last acknowledgement (stdin
   * ended) waits for that one instead.
   */
  readPast(seq: number): Promise<number> {
    if (this.readSeq >= seq) return Promise.resolve(this.handedSeq);
    return new Promise((resolve) => this.readWaiters.push({ seq, resolve }));
  }

  private readThrough(seq: number): void {
    if (seq <= this.readSeq) return;
    this.readSeq = seq;
    const [done, waiting] = [this.readWaiters.filter((w) => w.seq <= seq), this.readWaiters.filter((w) => w.seq > seq)];
    this.readWaiters = waiting;
    for (const waiter of done) waiter.resolve(this.handedSeq);
  }

  /** The frame at `offset` and where the next one starts; no frame when it was unreadable (quarantined) or its file is gone. */
  private async readAt(segment: Segment, offset: number): Promise<{ frame?: Frame; next: number }> {
    let handle: FileHandle;
    // Opened by path, not read through the writer's handle, which an append closes when it starts a new segment.
    let shared = false;
    try {
      handle = await open(segment.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Deleted under the agent: the segment still being written is read through the writer's handle instead.
      if (segment !== this.writerSegment || !this.writer) return this.missing(segment, offset);
      handle = this.writer;
      shared = true;
    }
    try {
      const frame = await readFrame(handle, offset, segment.bytes, this.options.key);
      return { frame, next: offset + frame.size };
    } catch (error) {
      if (error instanceof UnreadableFrame) return { next: await this.quarantine(handle, segment, offset, error.message) };
      // The writer's handle closed under the read (the deleted segment filled up): what it held is gone.
      if (shared && handle !== this.writer) return this.missing(segment, offset);
      throw error;
    } finally {
      if (!shared) await handle.close();
    }
  }

  private missing(segment: Segment, offset: number): { next: number } {
    this.missingSegments++;
    this.logger.error(
      { segment: segment.path, offset, bytes: segment.bytes - offset },
      'disk buffer segment was deleted by something other than the agent; the batches left in it are lost',
    );
    return { next: segment.bytes };
  }

  /**
   * Copies the unreadable bytes at `offset` (up to the next intact frame, or the end of what was written) to the
   * quarantine dir, for an operator; returns where reading goes on. The copy failing (a full disk) does not stop
   * sending: the bytes stay in the segment file until it is released.
   */
  private async quarantine(handle: FileHandle, segment: Segment, offset: number, reason: string): Promise<number> {
    const rest = Buffer.alloc(segment.bytes - offset);
    await handle.read(rest, 0, rest.length, offset);
    const length = nextIntactFrame(rest, 1) ?? rest.length;
    const quarantineDir = this.options.quarantineDir ?? join(dirname(this.dir), 'quarantine');
    const copy = join(quarantineDir, `${basename(segment.path, '.seg')}-${offset}.frame`);
    this.corruptFrames++;
    try {
      await mkdir(quarantineDir, { recursive: true });
      await writeFile(copy, rest.subarray(0, length));
      this.logger.error(
        { segment: segment.path, offset, bytes: length, reason, quarantined: copy },
        'unreadable batch in the disk buffer: moved aside, sending goes on with the next batch',
      );
    } catch (error) {
      this.logger.error(
        { segment: segment.path, offset, bytes: length, reason, err: error },
        'unreadable batch in the disk buffer: could not copy it aside (it stays in the segment until released); sending goes on with the next batch',
      );
    }
    return offset + length;
  }

  /** Every frame up to `seq` was acknowledged: segments holding only those are deleted. */
  async release(seq: number): Promise<void> {
    for (const path of this.undeleted) await this.deleteSegment(path);
    while (this.segments.length > 0 && this.segments[0].lastSeq <= seq && this.readSegment > 0) {
      const [segment] = this.segments.splice(0, 1);
      this.readSegment--;
      await this.deleteSegment(segment.path);
    }
    // The segment being written is released too once all of it is acknowledged and read.
    const last = this.segments.at(-1);
    if (this.segments.length === 1 && last && last.lastSeq <= seq && this.readOffset >= last.bytes && !this.appending) {
      // Detached before the first await: an append arriving while the handle closes opens a new segment
      // instead of writing into this closing one, which would fail ('file closed') or be deleted below.
      const writer = this.writer;
      this.writer = undefined;
      this.writerSegment = undefined;
      this.segments = [];
      this.readSegment = 0;
      this.readOffset = 0;
      await writer?.close().catch(() => undefined);
      await this.deleteSegment(last.path);
    }
    if (!this.isFull) for (const wake of this.spaceWaiters.splice(0)) wake();
  }

  /**
   * Deletes an acknowledged segment. A failure (the buffer dir made read-only or immutable) is not the acknowledgement's
   * failure: its checkpoint is written, so the file is only tried again at the next release (and a restart deletes
   * it, all of it being acknowledged), instead of stopping every later acknowledgement.
   */
  private async deleteSegment(path: string): Promise<void> {
    try {
      await rm(path, { force: true });
      this.undeleted.delete(path);
    } catch (error) {
      if (!this.undeleted.has(path))
        this.logger.warn({ segment: path, err: error }, 'could not delete an acknowledged disk buffer segment; trying again later');
      this.undeleted.add(path);
    }
  }

  async close(): Promise<void> {
    await this.writer?.close();
    this.writer = undefined;
    this.writerSegment = undefined;
  }
}

interface ScannedFrame {
  header: FrameHeader;
  offset: number;
  size: number;
}

/** The whole frame at `offset`, checked; the ways it can be unreadable are thrown as UnreadableFrame. */
async function readFrame(handle: FileHandle, offset: number, end: number, key: Buffer | undefined): Promise<Frame & { size: number }> {
  const prefix = Buffer.alloc(prefixBytes);
  await handle.read(prefix, 0, prefixBytes, offset);
  const length = prefix.readUInt32BE(0);
  // Checked before allocating: a rotted length could ask for gigabytes.
  if (length < 4 || offset + prefixBytes + length > end) throw new UnreadableFrame(`frame length ${length} runs past the segment`);
  const rest = Buffer.allocUnsafe(length);
  await handle.read(rest, 0, length, offset + prefixBytes);
  const checked = checkFrame(prefix, rest);
  if (typeof checked === 'string') throw new UnreadableFrame(checked);
  const { header, headerBytes, stored } = checked;
  const { sealed, key_id: keyId, ...plainHeader } = header;
  if (!sealed) return { header: plainHeader, body: stored, size: prefixBytes + length };
  if (!key) throw new Error(`the disk buffer holds encrypted batches: the agent needs its buffer key (buffer.key_file) to send them`);
  // Another key is the operator's mistake, not a damaged frame: sending stops until the right key is given.
  if (keyId !== undefined && keyId !== bufferKeyId(key))
    throw new Error(`the disk buffer's batches were encrypted with another key than buffer.key_file (key id ${keyId})`);
  try {
    return { header: plainHeader, body: openFrameBody(key, headerBytes, stored), size: prefixBytes + length };
  } catch (error) {
    // Written before key ids were stored: a wrong key and a forged frame look alike, so sending stops as before.
    if (keyId === undefined) throw new Error(`cannot decrypt a batch of the disk buffer (wrong buffer key?): ${(error as Error).message}`);
    throw new UnreadableFrame('the batch fails authentication with the buffer key');
  }
}

type StoredHeader = FrameHeader & { sealed?: boolean; key_id?: string };

/** The parts of a frame whose bytes match their CRC and whose header parses, or why not. */
function checkFrame(prefix: Buffer, rest: Buffer): { header: StoredHeader; headerBytes: Buffer; stored: Buffer } | string {
  if (crc32(rest) !== prefix.readUInt32BE(4)) return 'CRC-32 mismatch';
  const headerLength = rest.readUInt32BE(0);
  if (4 + headerLength > rest.length) return `header length ${headerLength} runs past the frame`;
  const headerBytes = rest.subarray(4, 4 + headerLength);
  try {
    const header = JSON.parse(headerBytes.toString('utf8')) as StoredHeader;
    if (typeof header.seq !== 'number' || !Array.isArray(header.sources)) return 'the header is not a batch header';
    return { header, headerBytes, stored: rest.subarray(4 + headerLength) };
  } catch {
    return 'the header is not JSON';
  }
}

/** The intact frame at `offset` of `data`, if one is there. */
function intactFrameAt(data: Buffer, offset: number): ScannedFrame | undefined {
  if (offset < 0 || offset + prefixBytes + 4 > data.length) return undefined;
  const length = data.readUInt32BE(offset);
  if (length < 4 || offset + prefixBytes + length > data.length) return undefined;
  const checked = checkFrame(
    data.subarray(offset, offset + prefixBytes),
    data.subarray(offset + prefixBytes, offset + prefixBytes + length),
  );
  return typeof checked === 'string' ? undefined : { header: checked.header, offset, size: prefixBytes + length };
}

/** Where the first intact frame at or after `from` starts: found by its header mark, confirmed by its CRC. */
function nextIntactFrame(data: Buffer, from: number): number | undefined {
  for (let mark = data.indexOf(headerMark, from + prefixBytes + 4); mark !== -1; mark = data.indexOf(headerMark, mark + 1)) {
    const offset = mark - prefixBytes - 4;
    if (intactFrameAt(data, offset)) return offset;
  }
  return undefined;
}

/**
 * The intact frames of a segment and how many of its bytes to read. Unreadable bytes followed by an intact frame stay
 * (the reader quarantines them). A tail that ends mid-frame is a torn write: cut off. The last segment's tail is cut
 * whatever its shape, since a crash may leave its end unwritten at full length; its lines are read again from the
 * file, as no later batch moved a checkpoint past them. A whole but unreadable tail of an earlier segment stays for the
 * reader to quarantine: later batches did move checkpoints past it.
 */
async function scanSegment(path: string, isLast: boolean, logger: Logger): Promise<{ frames: ScannedFrame[]; bytes: number }> {
  const data = await readFile(path);
  const frames: ScannedFrame[] = [];
  let offset = 0;
  let unreadable = false;
  while (offset < data.length) {
    const frame = intactFrameAt(data, offset);
    if (frame) {
      frames.push({ ...frame, header: withoutSealing(frame.header) });
      offset += frame.size;
      continue;
    }
    const next = nextIntactFrame(data, offset + 1);
    if (next !== undefined) {
      unreadable = true;
      offset = next;
      continue;
    }
    const torn = offset + prefixBytes > data.length || offset + prefixBytes + data.readUInt32BE(offset) > data.length;
    if (!isLast && !torn) return { frames, bytes: data.length };
    logger.warn(
      { segment: path, validBytes: offset, size: data.length },
      'disk buffer segment ends in a torn frame; cutting it off (the lines are read again from the file)',
    );
    await truncate(path, offset);
    return { frames, bytes: offset };
  }
  if (unreadable)
    logger.warn({ segment: path }, 'disk buffer segment holds unreadable bytes between intact frames; they are moved aside when read');
  return { frames, bytes: offset };
}

function withoutSealing(header: StoredHeader): FrameHeader {
  const { sealed: _sealed, key_id: _keyId, ...plain } = header;
  return plain;
}
