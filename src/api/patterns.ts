/** `/api/v1/patterns`: mined log templates per service (docs/patterns.md). */

export interface Pattern {
  service_name: string;
  pattern_id: string;
  /** The template as the reader may see it (masked as lines are). */
  template: string;
  count: number;
  first_seen: string;
  last_seen: string;
}

export interface PatternsResponse {
  patterns: Pattern[];
}
