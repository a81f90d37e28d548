import { z } from 'zod';
import { parseByteSize } from './byteSize.js';

/** Values the config sections share: byte sizes, ports, durations, counts, names, flags. */
export const byteSize = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a byte size (try 16MiB or 1048576)` });
    return z.NEVER;
  }
  return bytes;
});

export const port = z.coerce.number().int().min(0).max(65535);
/** A Go duration (`1m`, `30s`, `1m30s`, `250ms`) or a number of milliseconds, as milliseconds. */
export const queryDuration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : goDurationMs(value);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'a positive duration such as 1m, 30s or 500ms (or milliseconds)' });
    return z.NEVER;
  }
  return ms;
});
function goDurationMs(text: string): number | undefined {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(amount) * units[unit];
  return total;
}
export const positiveInt = z.coerce.number().int().positive();

export const ruleName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lowercase letters, digits and _');

/** true/false, also from the strings of env and flags (z.coerce.boolean would read "false" as true). */
export const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]);
