/**
 * What one buffered batch holds of one source: where reading resumes after it
 * (every earlier byte is in this batch or an earlier one) and how many lines
 * it carries. Stored in the frame header, so a restart knows what the buffer
 * already has, and applied to the checkpoints once the server acknowledged.
 */
export interface FrameSource {
  key: string;
  path: string;
  /** File identity; absent for stdin, which cannot be resumed. */
  dev?: number;
  ino?: number;
  fp?: string;
  fp_len?: number;
  born?: number;
  offset: number;
  /** A journal's position (cursor of the last entry in this or an earlier batch). */
  cursor?: string;
  lines: number;
}

export interface FrameHeader {
  seq: number;
  records: number;
  sources: FrameSource[];
}
