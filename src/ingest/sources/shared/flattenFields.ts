/**
 * A JSON document as flat string attributes: nested objects become dotted
 * keys (`kubernetes.pod.name`), arrays are kept as JSON text, null as ''.
 */
export function flattenFields(value: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [key, field] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (field !== null && typeof field === 'object' && !Array.isArray(field)) {
      flattenFields(field as Record<string, unknown>, name, out);
    } else {
      out[name] = attributeText(field);
    }
  }
  return out;
}

/** One JSON value as the text an attribute stores. */
export function attributeText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
