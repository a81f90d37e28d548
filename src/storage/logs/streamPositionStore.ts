import type { Storage } from '../engine/storage.js';

/**
 * Which records of which stream messages this node's storage holds: every
 * row a cluster node commits carries its stream sequence and position in
 * the same insert (migration 28), so what a commit stored is known exactly,
 * even when the node died before acknowledging the message.
 */
export class StreamPositionStore {
  constructor(private readonly storage: Storage) {}

  /** The highest stream sequence stored, 0 when none: messages up to it may have been committed before. */
  async highestSeq(): Promise<number> {
    const rows = await this.storage.rows<{ seq: string }>(`SELECT toString(max(stream_seq)) AS seq FROM ${this.storage.database}.logs`);
    return Number(rows[0]?.seq ?? 0);
  }

  /** The stored positions of each of these stream messages (absent: none of its records is stored). */
  async storedPositions(seqs: number[]): Promise<Map<number, Set<number>>> {
    const rows = await this.storage.rows<{ seq: string; positions: number[] }>(
      `SELECT toString(stream_seq) AS seq, groupUniqArray(stream_pos) AS positions
       FROM ${this.storage.database}.logs WHERE stream_seq IN {seqs:Array(UInt64)} GROUP BY stream_seq`,
      { seqs },
    );
    return new Map(rows.map((row) => [Number(row.seq), new Set(row.positions.map(Number))]));
  }
}
