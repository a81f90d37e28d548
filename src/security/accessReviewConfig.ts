import { z } from 'zod';
import { flag } from '../formats/configValues.js';

/** A review period: a calendar quarter, month or year (UTC), or a fixed length from the epoch (`30d`, `12h`, `20s`). */
export const reviewPeriod = z
  .string()
  .regex(/^(quarterly|monthly|yearly|\d+(s|m|h|d))$/, 'quarterly, monthly, yearly or a length such as 30d');

/** The `access_review` config section: periodic user-access reviews (SOC 2 CC6.2, CC6.3). */
export const accessReviewSection = z
  .object({
    /** Each period gets one review per tenant, due at the period's end plus the grace. */
    period: reviewPeriod.default('quarterly'),
    /** How long after its period a review may still be signed off before it is overdue. */
    grace: z
      .string()
      .regex(/^\d+(s|m|h|d)$/, 'a length such as 14d')
      .default('14d'),
    /** Start each tenant's review on its own when a period begins (off: only on demand). */
    auto_start: flag.default(true),
    /** How often the server checks whether a new period has begun. */
    check_interval_ms: z.coerce.number().int().min(1000).default(3_600_000),
  })
  .strict()
  .default({ period: 'quarterly', grace: '14d', auto_start: true, check_interval_ms: 3_600_000 });

const unitMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function lengthMs(value: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(value);
  if (!match) throw new Error(`not a length: ${value}`);
  return Number(match[1]) * unitMs[match[2]];
}

/** The review period holding `atMs`: [from, to) in milliseconds. */
export function periodAt(period: string, atMs: number): { from: number; to: number } {
  const at = new Date(atMs);
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  if (period === 'yearly') return { from: Date.UTC(year, 0, 1), to: Date.UTC(year + 1, 0, 1) };
  if (period === 'monthly') return { from: Date.UTC(year, month, 1), to: Date.UTC(year, month + 1, 1) };
  if (period === 'quarterly') {
    const first = month - (month % 3);
    return { from: Date.UTC(year, first, 1), to: Date.UTC(year, first + 3, 1) };
  }
  const length = lengthMs(period);
  const from = Math.floor(atMs / length) * length;
  return { from, to: from + length };
}
