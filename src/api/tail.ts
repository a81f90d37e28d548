/** `/loki/api/v1/tail` and `/api/v1/tail`: the live tail's messages (Loki's tail protocol). */

/** Under categorize-labels: an entry's structured metadata and parsed labels, apart from its stream labels. */
export interface EntryCategories {
  structuredMetadata?: Record<string, string>;
  parsed?: Record<string, string>;
}

/**
 * One message of Loki's tail protocol; `dropped_lines` (meshlog's) counts lines this subscriber lost to a full buffer.
 * Under categorize-labels, as Loki's EncodeTailResult: streams of stream labels only, each entry with its
 * structured metadata and parsed labels, and the flags echoed.
 */
export interface TailFrame {
  streams: { stream: Record<string, string>; values: ([string, string] | [string, string, EntryCategories])[] }[];
  dropped_entries: null;
  dropped_lines?: number;
  encodingFlags?: string[];
}
