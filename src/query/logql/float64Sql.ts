/**
 * A double in SQL exactly as JavaScript holds it: its IEEE 754 bits as a UInt64
 * parameter, reinterpreted. A Float64 parameter would be read back by ClickHouse's
 * text parser (not correctly rounded by default), and the client refuses to write
 * an integer beyond ±2^53 (`status > 1e20`) at all.
 */
export function float64Sql(value: number, param: (type: string, value: unknown) => string): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return `reinterpretAsFloat64(${param('UInt64', view.getBigUint64(0).toString())})`;
}
