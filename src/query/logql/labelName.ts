/** Loki 3's label name for an OTLP attribute key: characters invalid in a label name become `_`. */
export function labelNameOf(key: string): string {
  return key.replace(/[^A-Za-z0-9_]/g, '_');
}
