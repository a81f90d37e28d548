import type { LogRecord } from '../model/logRecord.js';
import type { SpanRecord } from '../model/spanRecord.js';
import type { IngestContext } from './ingestContext.js';
import { nowNs, partitionByTime, recordTimeProblem, spanTimeProblem, type Refused, type TimeWindow } from './sources/shared/timeWindow.js';

/** What a decoder made of one request: the records to store and how many it refused as invalid. */
export interface DecodedBatch<R> {
  records: R[];
  invalid: number;
}

/** What the distributor did with a batch: the records committed, and those refused for their times. */
export interface Distributed<R> {
  accepted: R[];
  refused: Refused<R>[];
}

/** A kind of record: how its times are checked and where it is submitted. */
export interface Signal<R> {
  timeProblem: (record: R, window: TimeWindow, now: bigint) => string | undefined;
  submit: (ctx: IngestContext, records: R[], receiver: string) => Promise<void>;
}

export const logSignal: Signal<LogRecord> = {
  timeProblem: recordTimeProblem,
  submit: (ctx, records, receiver) => ctx.submit(records, receiver),
};

export const spanSignal: Signal<SpanRecord> = {
  timeProblem: spanTimeProblem,
  submit: (ctx, spans) => ctx.submitSpans(spans),
};

/** Bytes as they came off the wire, before decompression. */
export function countBytes(ctx: IngestContext, receiver: string, bytes: number): void {
  ctx.metrics.bytesReceived.inc({ receiver }, bytes);
}

/**
 * The one place a request's records are counted and submitted, whatever the
 * protocol: invalid ones (the decoder's), those refused for their times
 * (answered with the protocol's per-record error; their neighbours go on),
 * those received; then the accepted ones are submitted and committed.
 */
export async function distribute<R>(
  ctx: IngestContext,
  signal: Signal<R>,
  receiver: string,
  batch: DecodedBatch<R>,
): Promise<Distributed<R>> {
  const { metrics } = ctx;
  if (batch.invalid > 0) metrics.recordsRejected.inc({ receiver, reason: 'invalid' }, batch.invalid);
  const now = nowNs();
  const { accepted, refused } = partitionByTime(batch.records, (record) => signal.timeProblem(record, ctx.timeWindow, now));
  if (refused.length > 0) metrics.recordsRejected.inc({ receiver, reason: 'timestamp' }, refused.length);
  metrics.recordsReceived.inc({ receiver }, accepted.length);
  if (accepted.length > 0) await signal.submit(ctx, accepted, receiver);
  return { accepted, refused };
}

/**
 * The counting of a stream protocol with no per-record answer (syslog,
 * forward): nothing is refused for its time, a time outside the window
 * becomes the receipt time instead (counted as restamped, see
 * docs/ingest-limits.md), and every record is counted received. The listener
 * then submits them at its connection's pace (`ConnectionPacing`).
 */
export function receiveRestamped(ctx: IngestContext, receiver: string, records: LogRecord[]): void {
  ctx.restamp(records, receiver);
  ctx.metrics.recordsReceived.inc({ receiver }, records.length);
}
