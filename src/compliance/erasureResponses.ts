import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import { auditDetail } from './accessSection.js';
import type { ConfigInForce } from './configsInForce.js';
import type { SectionInput } from './reportModel.js';

/** Erasure events read for one report: every request ever made up to the period's end is few. */
const maxErasureEvents = 100_000;

export interface ErasureResponse {
  id: string;
  tenant: string;
  selector: unknown;
  reason: unknown;
  requested_at: string;
  requested_by: string;
  /** When the cancellation window ended: the request runs on its own from then. */
  execute_after: string | null;
  /** execute_after plus one erasure check interval of the configuration in force when it was requested. */
  deadline: string | null;
  /** As of the period's end. */
  status: 'executed' | 'cancelled' | 'pending';
  closed_at: string | null;
  closed_by: string | null;
  trigger: unknown;
  records_erased: unknown;
  cancel_reason: unknown;
  /** Requested → executed (or cancelled), in seconds. */
  response_seconds: number | null;
  on_time: boolean | null;
}

/**
 * Every erasure request the period saw (made in it, closed in it, or still
 * open at its start), from the `erasure.*` audit events up to its end: who
 * asked and when, when it ran or was cancelled and by whom, the response
 * time, and whether it ran by its deadline. A request still pending past its
 * deadline at the period's end is late too.
 */
export async function erasureResponses(
  { sources, period }: SectionInput,
  configs: ConfigInForce[],
): Promise<{ requests: ErasureResponse[]; late: ErasureResponse[]; executed: number; rule: string }> {
  const events = (
    await sources.auditStore.events({ sinceNs: 0n, untilNs: period.toNs, action: 'erasure.', outcome: 'success', limit: maxErasureEvents })
  ).reverse();
  const startMs = Number(period.fromNs / 1_000_000n);
  const endMs = Number(period.toNs / 1_000_000n);
  const closing = new Map<string, StoredAuditEvent>();
  for (const event of events) if (event.action === 'erasure.execute' || event.action === 'erasure.cancel') closing.set(event.target, event);
  // The erasure settings in force when a request was made set its deadline.
  const settingsAt = (timeMs: number) =>
    (configs.filter((entry) => Date.parse(entry.from) <= timeMs).at(-1) ?? configs[0])?.config.erasure ?? sources.config.erasure;

  const requests = events
    .filter((event) => event.action === 'erasure.request' && (!period.tenant || event.tenant === period.tenant))
    .filter((event) => {
      const closed = closing.get(event.target);
      return Date.parse(event.time) >= startMs || !closed || Date.parse(closed.time) >= startMs;
    })
    .map((event): ErasureResponse => {
      const detail = auditDetail(event);
      const closed = closing.get(event.target);
      const closedDetail = closed ? auditDetail(closed) : {};
      // The request's own time (its window is counted from it); events recorded before it was in the receipt fall back to the event's time.
      const requestedMs = typeof detail.requested_at === 'string' ? Date.parse(detail.requested_at) : Date.parse(event.time);
      const executeAfter = typeof detail.execute_after === 'string' ? detail.execute_after : null;
      const deadlineMs = executeAfter === null ? null : Date.parse(executeAfter) + settingsAt(requestedMs).check_interval_ms;
      const status = closed === undefined ? 'pending' : closed.action === 'erasure.execute' ? 'executed' : 'cancelled';
      const closedMs = closed ? Date.parse(closed.time) : null;
      return {
        id: event.target,
        tenant: event.tenant,
        selector: detail.selector ?? null,
        reason: detail.reason ?? null,
        requested_at: new Date(requestedMs).toISOString(),
        requested_by: event.actor_name,
        execute_after: executeAfter,
        deadline: deadlineMs === null ? null : new Date(deadlineMs).toISOString(),
        status,
        closed_at: closedMs === null ? null : new Date(closedMs).toISOString(),
        closed_by: closed ? closed.actor_name || 'meshlog (cancellation window ended)' : null,
        trigger: closedDetail.trigger ?? null,
        records_erased: status === 'executed' ? (closedDetail.records ?? null) : null,
        cancel_reason: status === 'cancelled' ? (closedDetail.reason ?? null) : null,
        response_seconds: closedMs === null ? null : (closedMs - requestedMs) / 1000,
        // A cancellation is an answer in time; an executed request is judged by its deadline, a pending one by the period's end.
        on_time:
          deadlineMs === null
            ? null
            : status === 'cancelled'
              ? true
              : status === 'executed'
                ? closedMs! <= deadlineMs
                : endMs <= deadlineMs
                  ? null
                  : false,
      };
    });
  const late = requests.filter((request) => request.on_time === false);
  return {
    requests,
    late,
    executed: requests.filter((request) => request.status === 'executed' && request.on_time === true).length,
    rule: 'a request runs when its cancellation window (erasure.cancel_window) ends; its deadline is that moment plus one erasure check interval (erasure.check_interval_ms) of the configuration in force when it was requested. Executed after the deadline, or still pending past it at the period’s end, is late.',
  };
}
