import type { LogRecord } from '../../../model/logRecord.js';
import type { SpanRecord } from '../../../model/spanRecord.js';

/**
 * Which record times meshlog takes, modelled on Loki's limits
 * `reject_old_samples` / `reject_old_samples_max_age` and
 * `creation_grace_period`: a record (event time or observed time) older than
 * `now - maxAge` (when rejectOld) or newer than `now + grace` is refused on
 * its own, with the protocol's per-record answer. Whatever the settings, a
 * time outside what storage holds (before 1970, after 2262-04-11) is refused.
 */
export interface TimeWindow {
  rejectOld: boolean;
  maxAgeNs: bigint;
  graceNs: bigint;
}

/** DateTime64(9) as meshlog stores it: nanoseconds 0 .. 2^63-1. */
export const storableMinNs = 0n;
export const storableMaxNs = 2n ** 63n - 1n;

const unitNs: Record<string, bigint> = {
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 7n * 86_400_000_000_000n,
  y: 365n * 86_400_000_000_000n,
};

/** The duration format of these keys: Loki's units plus d, w and y (365 d). */
export const windowDurationPattern = /^(\d+)(ms|s|m|h|d|w|y)$/;

export function durationNs(value: string): bigint {
  const match = windowDurationPattern.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  return BigInt(match[1]) * unitNs[match[2]];
}

export function timeWindowFromConfig(ingest: {
  reject_old_samples: boolean;
  reject_old_samples_max_age: string;
  creation_grace_period: string;
}): TimeWindow {
  return {
    rejectOld: ingest.reject_old_samples,
    maxAgeNs: durationNs(ingest.reject_old_samples_max_age),
    graceNs: durationNs(ingest.creation_grace_period),
  };
}

/** Only what storage cannot hold is refused (for callers without config). */
export const storageOnlyWindow: TimeWindow = { rejectOld: false, maxAgeNs: 0n, graceNs: storableMaxNs };

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** RFC 3339 with nanoseconds where Date can tell the date, else the bare number of nanoseconds. */
export function formatNs(ns: bigint): string {
  const millis = ns / 1_000_000n - (ns < 0n && ns % 1_000_000n !== 0n ? 1n : 0n);
  if (millis < -8_640_000_000_000_000n || millis > 8_640_000_000_000_000n) return `${ns} ns`;
  const date = new Date(Number(millis));
  const fraction = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const iso = date.toISOString();
  if (fraction === 0n) return iso.replace('.000Z', 'Z');
  return `${iso.slice(0, iso.indexOf('.'))}.${fraction.toString().padStart(9, '0').replace(/0+$/, '')}Z`;
}

/** The bounds in force at `now`: [oldest, newest]. */
export function bounds(window: TimeWindow, now: bigint): { oldest: bigint; newest: bigint } {
  const oldest = window.rejectOld && now - window.maxAgeNs > storableMinNs ? now - window.maxAgeNs : storableMinNs;
  const newest = now + window.graceNs < storableMaxNs ? now + window.graceNs : storableMaxNs;
  return { oldest, newest };
}

/** Why one time is refused (Loki's wording), or undefined when it is taken. */
export function timeProblem(ns: bigint, what: string, window: TimeWindow, now: bigint): string | undefined {
  const { oldest, newest } = bounds(window, now);
  if (ns < oldest) {
    return oldest === storableMinNs
      ? `${what} ${formatNs(ns)} is before 1970-01-01T00:00:00Z, the oldest time meshlog can store`
      : `${what} too old: ${formatNs(ns)}, oldest acceptable timestamp is: ${formatNs(oldest)}`;
  }
  if (ns > newest) return `${what} too new: ${formatNs(ns)}, newest acceptable timestamp is: ${formatNs(newest)}`;
  return undefined;
}

/** Why a record is refused: its event time, else its observed time. */
export function recordTimeProblem(record: LogRecord, window: TimeWindow, now: bigint): string | undefined {
  return (
    timeProblem(record.timeUnixNano, 'timestamp', window, now) ??
    timeProblem(record.observedTimeUnixNano, 'observed timestamp', window, now)
  );
}

/** A span is refused for its start, its end, or any event time. */
export function spanTimeProblem(span: SpanRecord, window: TimeWindow, now: bigint): string | undefined {
  const problem = timeProblem(span.startTimeUnixNano, 'span start', window, now);
  if (problem) return problem;
  if (span.durationNano < 0n || span.startTimeUnixNano + span.durationNano > storableMaxNs)
    return `span duration ${span.durationNano} ns is not storable`;
  for (const event of span.events) {
    const eventProblem = timeProblem(event.timeUnixNano, 'span event', window, now);
    if (eventProblem) return eventProblem;
  }
  return undefined;
}

export interface Refused<T> {
  record: T;
  /** Position in the records given. */
  index: number;
  reason: string;
}

/** Splits records into those taken and those refused for their times. */
export function partitionByTime<T>(records: T[], problem: (record: T) => string | undefined): { accepted: T[]; refused: Refused<T>[] } {
  const accepted: T[] = [];
  const refused: Refused<T>[] = [];
  records.forEach((record, index) => {
    const reason = problem(record);
    if (reason === undefined) accepted.push(record);
    else refused.push({ record, index, reason });
  });
  return { accepted, refused };
}

/** Attribute that keeps the time a sender claimed (RFC 3339) when meshlog stored a record at its receipt time instead. */
export const refusedTimeAttribute = 'meshlog.refused_timestamp';

/**
 * For protocols with no per-record answer (syslog, forward): a record out of
 * the window is kept, stamped with its receipt time, and the claimed time and
 * the reason go into attributes, so nothing is lost and nothing poisons storage.
 */
export function restampOutOfWindow(records: LogRecord[], window: TimeWindow, now: bigint): number {
  let restamped = 0;
  for (const record of records) {
    const reason = recordTimeProblem(record, window, now);
    if (reason === undefined) continue;
    restamped++;
    // As a date, not bare nanoseconds: a long digit string is what redaction rules take for a card number.
    record.attributes = {
      ...record.attributes,
      [refusedTimeAttribute]: formatNs(record.timeUnixNano),
      'meshlog.refused_timestamp_reason': reason,
    };
    record.timeUnixNano = now;
    record.observedTimeUnixNano = now;
  }
  return restamped;
}
