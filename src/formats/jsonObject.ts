/** A JSON object line, or undefined; only lines that look like one are handed to JSON.parse. */
export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  if (line.charCodeAt(0) !== 123 /* { */ || line.charCodeAt(line.length - 1) !== 125) {
    const trimmed = line.trimEnd();
    if (trimmed.charCodeAt(0) !== 123 || trimmed.charCodeAt(trimmed.length - 1) !== 125) return undefined;
  }
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
