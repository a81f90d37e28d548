import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How far one source was acknowledged by the server. */
export interface Checkpoint {
  path: string;
  dev?: number;
  ino?: number;
  fp?: string;
  fp_len?: number;
  born?: number;
  /** Every byte before this offset was acknowledged. */
  offset: number;
  /** A journal: every entry up to this cursor was acknowledged. */
  cursor?: string;
  /** Lines the server acknowledged from this source, over the agent's lifetime. */
  lines_acked: number;
}

export interface CheckpointState {
  /** Every buffered batch up to this sequence number was acknowledged. */
  acked_seq: number;
  sources: Record<string, Checkpoint>;
}

/**
 * The acknowledged positions, one JSON file written whole to a temporary file,
 * synced and renamed over the old one: a crash leaves the old or the new
 * state, never a mix. Writes are serialized; a write asked for while one runs
 * is coalesced into the next.
 */
export class CheckpointStore {
  private writing: Promise<void> | undefined;
  private again = false;

  constructor(private readonly path: string) {}

  async load(): Promise<CheckpointState> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as CheckpointState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { acked_seq: 0, sources: {} };
      throw new Error(`cannot read checkpoints ${this.path}: ${(error as Error).message}`);
    }
  }

  /** Writes the state `snapshot()` returns at the time of writing. */
  save(snapshot: () => CheckpointState): Promise<void> {
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      try {
        do {
          this.again = false;
          await this.write(snapshot());
        } while (this.again);
      } finally {
        this.writing = undefined;
      }
    })();
    return this.writing;
  }

  private async write(state: CheckpointState): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
  }
}
