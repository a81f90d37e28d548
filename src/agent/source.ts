import { createHash } from 'node:crypto';

/** A file's identity: device and inode, and a fingerprint of its first bytes (inode numbers are reused). */
export interface FileIdentity {
  dev: number;
  ino: number;
  /** SHA-256 (hex, shortened) of the first fpLen bytes, frozen when the file was first read. */
  fp: string;
  fpLen: number;
  /**
   * When this generation was first read (ms): two generations of one inode
   * with the same first bytes (a truncated file that always starts with the
   * same header) still get different keys and record ids.
   */
  born: number;
}

export type KeyValue = { key: string; value: { stringValue: string } };

export function keyValues(attributes: Record<string, string>): KeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } }));
}

/**
 * One stream of lines (a file generation, or stdin) with what the agent knows
 * about its delivery: lines read and acknowledged, offsets read and acknowledged.
 */
export class Source {
  readonly resource: KeyValue[];
  /** Record ids are `<uidPrefix>-<offset>`: the same line read twice gets the same id. */
  readonly uidPrefix: string;
  linesRead = 0;
  linesAcked = 0;
  ackedOffset = 0;
  /** File size at the last poll (lag = size - ackedOffset). */
  size = 0;
  /** Sequence number of the last buffered batch holding lines of this source. */
  lastFrameSeq = 0;
  /** Still being read (a closed source's checkpoint is dropped once all its batches were acknowledged). */
  active = true;
  /** First byte not yet in a batch (bytes held back: an unfinished line, CRI parts waiting for their end). */
  resumeOffset: () => number = () => 0;
  /** A journal's position instead of a byte offset: the cursor of the last entry read… */
  resumeCursor: (() => string | undefined) | undefined;
  /** …and of the last entry the server acknowledged. */
  ackedCursor: string | undefined;

  constructor(
    readonly key: string,
    readonly path: string,
    resource: Record<string, string>,
    readonly identity: FileIdentity | undefined,
  ) {
    this.resource = keyValues(resource);
    this.uidPrefix = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }
}

export function identityKey(identity: FileIdentity): string {
  return `${identity.dev}:${identity.ino}:${identity.fp}:${identity.born}`;
}

export function fingerprint(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}
