/** `/api/v1/admin/redaction`: the redaction rules in force and a sample line put through them. */

export interface RedactionResponse {
  /** Rules are set in the config file only. */
  source: 'config';
  enabled: boolean;
  mode: 'redact' | 'observe';
  rules: { name: string; kind: 'builtin' | 'custom'; pattern: string }[];
  /** Built-in rules not in force. */
  available: string[];
  keyed_hash: boolean;
  attribute_allowlist: string[];
  masked_fields: string[];
}

/** POST /api/v1/admin/redaction/test: what would be stored of a line, and what a reader without `unmasker` would see. */
export interface RedactionSampleResponse {
  mode: 'redact' | 'observe' | 'off';
  stored: string;
  shown: string;
  /** Matches per rule. */
  matches: Record<string, number>;
  changed: boolean;
}
