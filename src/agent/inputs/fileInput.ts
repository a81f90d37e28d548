import { open, stat, type FileHandle } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { glob, isDynamicPattern } from 'tinyglobby';
import { parsePodLogPath } from '../../formats/kubernetesLogPath.js';
import { fingerprint, identityKey, keyValues, Source, type FileIdentity, type KeyValue } from '../source.js';
import { ContainerLineJoiner } from './containerLineJoiner.js';
import { LineSplitter } from './lineSplitter.js';
import type { ReadGate, RecordSink } from './recordSink.js';

/** Files matched by the same globs and read the same way. */
export interface FileGroup {
  paths: string[];
  format: 'raw' | 'container';
  labels: Record<string, string>;
  /** The kubelet's pods directory: k8s.* attributes come from the path below it. */
  podsDir: string | undefined;
}

/** Where a file generation was left: checkpoint or buffered batches. */
export interface ResumePoint {
  fp: string;
  fpLen: number;
  born: number;
  /** Reading resumes here (after what is acknowledged or already buffered). */
  offset: number;
  ackedOffset: number;
  linesRead: number;
  linesAcked: number;
}

const fingerprintBytes = 256;
const chunkBytes = 256 * 1024;
/** Bytes read from one file before the others get their turn. */
const turnBytes = 4 * 1024 * 1024;

interface Tail {
  path: string;
  group: FileGroup;
  handle: FileHandle;
  dev: number;
  ino: number;
  source: Source | undefined;
  readOffset: number;
  /** End of the last line handed on; while a chunk is being split this trails readOffset. */
  consumed: number;
  lastSize: number;
  splitter: LineSplitter;
  joiner: ContainerLineJoiner | undefined;
  orphanedAt: number | undefined;
  /** Generations that ended while the file stayed open (truncations): only the first may resume a previous run's checkpoint. */
  generations: number;
}

/**
 * Tails the files matched by globs, polled (fs.watch misses events on many
 * filesystems): new files are picked up, a file renamed or deleted away is
 * read to its end and closed after rotate_wait, a truncated or rewritten file
 * (size below the offset, or different first bytes) starts again at 0 as a
 * new generation. A file is known by device + inode, and a generation by the
 * fingerprint of its first bytes, so a reused inode is not mistaken for the
 * old file.
 */
export class FileInput {
  private tails = new Map<string, Tail>();
  private readonly buffer = Buffer.allocUnsafe(chunkBytes);

  constructor(
    private readonly groups: FileGroup[],
    private readonly options: { rotateWaitMs: number; maxLineBytes: number; resourceLabels: Record<string, string> },
    private readonly resume: (dev: number, ino: number) => ResumePoint[],
    private readonly sink: RecordSink,
    private readonly gate: ReadGate,
    private readonly onSource: (source: Source) => void,
    private readonly logger: Logger,
  ) {}

  get openFiles(): number {
    return this.tails.size;
  }

  /**
   * One round: expand the globs (when `discover`: a glob walks directories, too
   * dear for every turn of a file being read fast), read every file up to its
   * turn; true when some file has more to read right away.
   */
  async poll(discover = true): Promise<boolean> {
    if (discover) await this.discover();
    // Monotonic, like orphanedAt: a wall clock set forward closed a rotated file before rotate_wait_ms, losing late writes.
    const now = performance.now();
    let more = false;
    for (const [key, tail] of this.tails) {
      if (!this.gate.canRead()) return false;
      if (await this.readTurn(tail)) more = true;
      else if (tail.orphanedAt !== undefined && now - tail.orphanedAt >= this.options.rotateWaitMs) await this.closeTail(key, tail);
    }
    return more;
  }

  /** Opens files that newly match, and marks those that left every glob (rotated or deleted away). */
  private async discover(): Promise<void> {
    const seen = new Set<string>();
    for (const group of this.groups) {
      let paths: string[];
      try {
        paths = await expand(group.paths);
      } catch (error) {
        this.logger.warn({ err: error, paths: group.paths }, 'glob failed');
        continue;
      }
      for (const path of paths) {
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile()) continue;
        const key = `${info.dev}:${info.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (!this.tails.has(key)) await this.openTail(path, group, info.dev, info.ino, key);
      }
    }
    const now = performance.now();
    for (const [key, tail] of this.tails) {
      if (seen.has(key)) tail.orphanedAt = undefined;
      else tail.orphanedAt ??= now;
    }
  }

  async close(): Promise<void> {
    for (const tail of this.tails.values()) await tail.handle.close().catch(() => undefined);
    this.tails.clear();
  }

  private async openTail(path: string, group: FileGroup, dev: number, ino: number, key: string): Promise<void> {
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return;
    this.tails.set(key, {
      path,
      group,
      handle,
      dev,
      ino,
      source: undefined,
      readOffset: 0,
      consumed: 0,
      lastSize: -1,
      splitter: new LineSplitter(this.options.maxLineBytes),
      joiner: group.format === 'container' ? new ContainerLineJoiner(this.options.maxLineBytes) : undefined,
      orphanedAt: undefined,
      generations: 0,
    });
  }

  /** Reads a file up to its turn; true when it has more bytes waiting. */
  private async readTurn(tail: Tail): Promise<boolean> {
    const size = (await tail.handle.stat()).size;
    if (tail.source !== undefined && size !== tail.lastSize && (size < tail.readOffset || !(await this.sameGeneration(tail, size)))) {
      this.logger.info({ path: tail.path, offset: tail.readOffset, size }, 'file truncated or rewritten; reading it again from the start');
      this.endGeneration(tail, tail.readOffset);
      tail.generations++;
    }
    if (tail.source === undefined) {
      // A generation's identity is frozen from its first bytes: wait for some.
      if (size === 0) return false;
      await this.startGeneration(tail, size, tail.generations === 0);
    }
    tail.lastSize = size;
    const source = tail.source!;
    source.size = size;
    let budget = turnBytes;
    while (tail.readOffset < size && budget > 0) {
      if (!this.gate.canRead()) return true;
      const { bytesRead } = await tail.handle.read(this.buffer, 0, Math.min(chunkBytes, size - tail.readOffset), tail.readOffset);
      if (bytesRead === 0) break;
      const chunk = this.buffer.subarray(0, bytesRead);
      tail.splitter.push(chunk, tail.readOffset, (text, offset, end) => {
        tail.consumed = end;
        this.line(tail, source, text, offset);
      });
      tail.readOffset += bytesRead;
      tail.consumed = tail.readOffset;
      budget -= bytesRead;
      await this.gate.afterChunk();
    }
    return tail.readOffset < size;
  }

  private line(tail: Tail, source: Source, text: string, offset: number): void {
    if (tail.joiner)
      tail.joiner.push(text, offset, (content, at, time, stream) => this.sink(source, content, at, time, streamAttributes(stream)));
    else this.sink(source, text, offset, undefined, undefined);
  }

  /** Freezes the identity of the file's current content and finds where a previous run left it. */
  private async startGeneration(tail: Tail, size: number, mayResume: boolean): Promise<void> {
    let resumed: ResumePoint | undefined;
    if (mayResume) {
      for (const candidate of this.resume(tail.dev, tail.ino)) {
        if (candidate.fpLen <= size && candidate.offset <= size && (await this.fingerprintOf(tail, candidate.fpLen)) === candidate.fp) {
          resumed = candidate;
          break;
        }
      }
    }
    const fpLen = resumed?.fpLen ?? Math.min(size, fingerprintBytes);
    const identity: FileIdentity = {
      dev: tail.dev,
      ino: tail.ino,
      fp: resumed?.fp ?? (await this.fingerprintOf(tail, fpLen)),
      fpLen,
      born: resumed?.born ?? nextBirth(),
    };
    const resource: Record<string, string> = { ...this.options.resourceLabels, ...tail.group.labels, 'log.file.path': tail.path };
    if (tail.group.podsDir) Object.assign(resource, parsePodLogPath(relative(tail.group.podsDir, tail.path)));
    const source = new Source(identityKey(identity), tail.path, resource, identity);
    tail.splitter = new LineSplitter(this.options.maxLineBytes);
    if (tail.joiner) tail.joiner = new ContainerLineJoiner(this.options.maxLineBytes);
    tail.readOffset = resumed?.offset ?? 0;
    tail.consumed = tail.readOffset;
    if (resumed) {
      source.ackedOffset = resumed.ackedOffset;
      source.linesRead = resumed.linesRead;
      source.linesAcked = resumed.linesAcked;
      this.logger.info({ path: tail.path, offset: resumed.offset }, 'resuming file');
    }
    source.resumeOffset = () => tail.joiner?.oldestHeld ?? tail.splitter.pendingStart ?? tail.consumed;
    tail.source = source;
    this.onSource(source);
  }

  /** The generation ends (rotated away, truncated): a held unfinished line is emitted, the source's offset frozen. */
  private endGeneration(tail: Tail, finalOffset: number): void {
    const source = tail.source;
    if (!source) return;
    tail.splitter.flush((text, offset) => this.line(tail, source, text, offset));
    tail.joiner?.flush((content, at, time, stream) => this.sink(source, content, at, time, streamAttributes(stream)));
    source.resumeOffset = () => finalOffset;
    source.active = false;
    this.gate.touch(source);
    tail.source = undefined;
  }

  private async closeTail(key: string, tail: Tail): Promise<void> {
    this.endGeneration(tail, tail.readOffset);
    this.tails.delete(key);
    await tail.handle.close().catch(() => undefined);
    this.logger.debug({ path: tail.path }, 'file rotated or deleted away and read to its end; closed');
  }

  private async sameGeneration(tail: Tail, size: number): Promise<boolean> {
    const identity = tail.source!.identity!;
    return identity.fpLen <= size && (await this.fingerprintOf(tail, identity.fpLen)) === identity.fp;
  }

  private async fingerprintOf(tail: Tail, length: number): Promise<string> {
    const head = Buffer.alloc(length);
    if (length > 0) await tail.handle.read(head, 0, length, 0);
    return fingerprint(head);
  }
}

/**
 * The files a group's patterns match. Patterns are made absolute and walked
 * from `/`: from the working directory (tinyglobby's default) every poll
 * crawled it, tens of ms of lstat and readdir. A plain path needs no walk.
 */
async function expand(patterns: string[]): Promise<string[]> {
  const absolute = patterns.map((pattern) => resolve(pattern));
  const dynamic = absolute.filter((pattern) => isDynamicPattern(pattern));
  const plain = absolute.filter((pattern) => !isDynamicPattern(pattern));
  const found =
    dynamic.length > 0 ? await glob(dynamic, { cwd: '/', absolute: true, onlyFiles: true, followSymbolicLinks: true, dot: true }) : [];
  return [...plain, ...found];
}

let lastBirth = 0;

/** A generation's birth time, strictly increasing within the process. */
function nextBirth(): number {
  lastBirth = Math.max(Date.now(), lastBirth + 1);
  return lastBirth;
}

const streamAttributeCache = new Map<string, KeyValue[]>();

/** `log.iostream` of a container line, one shared array per stream name. */
function streamAttributes(stream: string | undefined): KeyValue[] | undefined {
  if (stream === undefined) return undefined;
  let attributes = streamAttributeCache.get(stream);
  if (!attributes) streamAttributeCache.set(stream, (attributes = keyValues({ 'log.iostream': stream })));
  return attributes;
}
