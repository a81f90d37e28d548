/**
 * What a line parser found in one line: the format it recognised, the raw
 * time and level text (normalized later), and fields named after the
 * OpenTelemetry semantic conventions (meshlog's `mesh.*` where none exists).
 */
export interface ParsedLine {
  /** Which parser matched: `envoy`, `istio`, `istio_json`, `linkerd_apache`, `json`… */
  format: string;
  /** The mesh that wrote the line (`istio`, `linkerd`, `consul`, `appmesh`, `kuma`, `cilium`, `envoy`, `nginx`, `traefik`), or ''. */
  mesh: string;
  /** Event time as written in the line (RFC 3339, nginx time_local, epoch seconds…), or ''. */
  time: string;
  /** Level as written in the line (`INFO`, `warn`, `E`…), or ''. */
  level: string;
  /** The message to keep as body when the line wraps one (container and JSON logs), else undefined. */
  message: string | undefined;
  attributes: Record<string, string>;
}

export function newParsedLine(format: string, mesh: string): ParsedLine {
  return { format, mesh, time: '', level: '', message: undefined, attributes: {} };
}

/** A pure function from one line to its fields; undefined when the line is not in that format. */
export type LineParser = (line: string) => ParsedLine | undefined;

/** Envoy and most access logs write `-` (or nothing) for an unset value. */
export function isUnset(value: string): boolean {
  return value.length === 0 || (value.length === 1 && value === '-');
}
