import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ErasureEvidence } from '../api/erasure.js';
import { MeshlogError } from '../errors.js';
import type { LogRecord } from '../model/logRecord.js';
import type { SpanRecord } from '../model/spanRecord.js';
import { Replica } from '../model/replica.js';
import { compileSelectorCondition } from '../query/logql/compiler.js';
import { parseStreamSelector } from '../query/logql/streamSelector.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Identity } from '../security/identity.js';
import type { ErasureMatch, ErasurePlan, ErasureRequest, ErasureStore, PatternRef } from '../storage/stores/erasureStore.js';
import type { RetentionStore } from '../storage/stores/retentionStore.js';
import type { SealEvent, SealStore } from '../storage/logs/sealStore.js';
import { spanKey } from '../storage/logs/storedSpans.js';
import type { DeletionLedger } from './deletionLedger.js';
import type { DeletionLock } from './deletionLock.js';

export type { ErasureEvidence } from '../api/erasure.js';

export interface ErasureScope {
  tenant: string;
  selector: string;
  fromNs: bigint;
  toNs: bigint;
  reason: string;
}

/**
 * Erasure requests (privacy P4.3): a receipt at request time, a cancellation
 * window, then deletion of exactly the matching records with evidence in the
 * request and in the integrity chain, so `meshlog verify` reports them as
 * erased by that request rather than missing. Records under a legal hold stay.
 */
export class ErasureRequests {
  /** Executions and cancellations one at a time, so a request never runs twice or runs while being cancelled. */
  private serial: Promise<unknown> = Promise.resolve();

  /**
   * The link to the other nodes of a cluster: a request filed, cancelled or
   * executed through one node reaches every node. Each node keeps its own
   * copy of the records, so each executes the request on its own store, with
   * its own evidence and deletion ledger entry: a request another node
   * executed is executed here, never copied in as executed. With a shared
   * ClickHouse the change arrives in the store it already changed: nothing
   * more happens.
   */
  readonly replica = new Replica<ErasureRequest>((arrived) => this.fromCluster(arrived));

  /** Executed requests with the stream time they cover, loaded once; see `withoutErased`. */
  private executedList: Promise<ExecutedErasure[]> | undefined;

  constructor(
    private readonly store: ErasureStore,
    private readonly holds: RetentionStore,
    private readonly seals: SealStore | undefined,
    private readonly audit: AuditTrail,
    private readonly database: string,
    private readonly cancelWindowMs: number,
    private readonly ledger: DeletionLedger,
    private readonly lock: DeletionLock,
    /** Drops removed templates from the live miners, so the next flush does not write them back. */
    private readonly forgetPatterns: (tenant: string, patterns: PatternRef[]) => void,
    private readonly logger: Logger,
    /** In a cluster: the record stream's last sequence now, so an execution covers exactly the messages taken before it. */
    private readonly streamPosition?: () => Promise<number>,
  ) {}

  async list(): Promise<ErasureRequest[]> {
    return this.store.list();
  }

  async get(id: string): Promise<ErasureRequest> {
    const request = (await this.store.list()).find((candidate) => candidate.id === id);
    if (!request) throw new MeshlogError('ML_NOT_FOUND', `no erasure request ${id}`);
    return request;
  }

  async request(scope: ErasureScope, actor: Identity, remoteAddress?: string): Promise<ErasureRequest> {
    if (scope.tenant.startsWith('_'))
      throw new MeshlogError('ML_FORBIDDEN', `tenant "${scope.tenant}" is reserved: the audit trail is not erasable`);
    parseStreamSelector(scope.selector);
    if (scope.fromNs > scope.toNs) throw new MeshlogError('ML_DECODE', 'from is after to');
    const now = Date.now();
    const request: ErasureRequest = {
      id: `er-${randomBytes(6).toString('hex')}`,
      tenant: scope.tenant,
      selector: scope.selector,
      from_ns: scope.fromNs.toString(),
      to_ns: scope.toNs.toString(),
      reason: scope.reason,
      requested_by: actor.name,
      requested_at: new Date(now).toISOString(),
      execute_after: new Date(now + this.cancelWindowMs).toISOString(),
      status: 'pending',
      closed_by: '',
      closed_at: null,
      cancel_reason: '',
      evidence: '',
    };
    await this.store.save(request);
    await this.audit.record({
      action: 'erasure.request',
      outcome: 'success',
      actor,
      remoteAddress,
      tenant: request.tenant,
      target: request.id,
      detail: receiptDetail(request),
    });
    await this.replica.send(request);
    return request;
  }

  async cancel(id: string, reason: string, actor: Identity, remoteAddress?: string): Promise<ErasureRequest> {
    const cancelled = await this.oneAtATime(async () => {
      const request = await this.pending(id);
      const cancelled: ErasureRequest = {
        ...request,
        status: 'cancelled',
        closed_by: actor.name,
        closed_at: new Date().toISOString(),
        cancel_reason: reason,
      };
      await this.store.save(cancelled);
      await this.audit.record({
        action: 'erasure.cancel',
        outcome: 'success',
        actor,
        remoteAddress,
        tenant: request.tenant,
        target: id,
        detail: { reason },
      });
      return cancelled;
    });
    await this.replica.send(cancelled);
    return cancelled;
  }

  /** Runs one pending request now, whether or not its cancellation window has ended. */
  async execute(id: string, trigger: string, actor?: Identity, remoteAddress?: string): Promise<ErasureRequest> {
    const executed = await this.oneAtATime(async () =>
      this.run(await this.pending(id), trigger, actor?.name ?? 'meshlog (cancellation window ended)', undefined, actor, remoteAddress),
    );
    await this.replica.send(executed);
    return executed;
  }

  /** A request as another node filed, cancelled or executed it, applied to this node's own copy. */
  private async fromCluster(arrived: ErasureRequest): Promise<void> {
    await this.oneAtATime(async () => {
      const local = (await this.store.list()).find((request) => request.id === arrived.id);
      // An execution cannot be undone, so it wins over a cancellation that raced it through another node: every
      // node ends executed, and so does the bucket (a node joining later reads its latest value).
      const raced = local?.status === 'cancelled' && arrived.status === 'executed';
      if (local?.status === 'executed' && arrived.status === 'cancelled') {
        this.logger.warn(
          { request: arrived.id, cancelledBy: arrived.closed_by },
          'erasure cancelled through another node after it executed here: it stays executed',
        );
        return this.replica.send(local);
      }
      // Closed here already (or the same change coming back): this node's own outcome stands.
      if (local && local.status !== 'pending' && !raced) return;
      if (arrived.status === 'cancelled') return this.store.save(arrived);
      const filed: ErasureRequest = { ...arrived, status: 'pending', closed_by: '', closed_at: null, cancel_reason: '', evidence: '' };
      if (!local || raced) await this.store.save(filed);
      // The stream up to the first execution is covered, wherever and whenever it runs here (a node that was down, a new node).
      if (arrived.status === 'executed')
        await this.run(
          filed,
          raced ? 'executed through another node as it was cancelled here' : 'executed through another node',
          arrived.closed_by,
          {
            until: streamCoveredUntil(arrived),
            seq: streamCoverage(arrived).streamUntilSeq,
          },
        );
    });
  }

  /** Erases what `request` covers on this node's store; called one at a time. */
  private async run(
    request: ErasureRequest,
    trigger: string,
    executedBy: string,
    covered?: { until: string; seq: number | undefined },
    actor?: Identity,
    remoteAddress?: string,
  ) {
    const streamSeq = covered ? covered.seq : await this.streamSequenceNow();
    const executedAt = new Date();
    const coversUntil = covered?.until ?? executedAt.toISOString();
    // Known to the stream consumer before the stored rows go: a matching record committed after the deletion is dropped instead.
    (await this.executed()).push({ request, streamUntilSeq: streamSeq, streamUntilMs: Date.parse(coversUntil) });
    const activeHolds = (await this.holds.holds()).filter((hold) => !hold.released_at);
    const outcome = await this.lock.run(() =>
      this.store.erase(erasureMatch(this.database, request), activeHolds, async (plan: ErasurePlan) => {
        const events = erasureEvents(request.id, plan, executedAt);
        this.ledger.append({
          kind: 'erasure',
          at: executedAt.toISOString(),
          trigger,
          executedBy,
          request,
          plan,
          holds: activeHolds,
          events,
          streamCoveredUntil: coversUntil,
          ...(streamSeq === undefined ? {} : { streamCoveredUntilSeq: streamSeq }),
        });
        await this.seals?.insertEvents(events);
      }),
    );
    this.forgetPatterns(request.tenant, outcome.patternsRemoved);
    const executed = executedRequest(request, outcome, outcome.patternsRemoved.length, {
      at: executedAt,
      trigger,
      by: executedBy,
      streamCoveredUntil: coversUntil,
      streamCoveredUntilSeq: streamSeq,
    });
    await this.store.save(executed);
    const evidence = JSON.parse(executed.evidence) as ErasureEvidence;
    await this.audit.record({
      action: 'erasure.execute',
      outcome: 'success',
      actor,
      remoteAddress,
      tenant: request.tenant,
      target: request.id,
      detail: {
        trigger,
        records: evidence.records,
        batches: evidence.batches,
        held: evidence.held,
        spans: evidence.spans,
        patterns: evidence.patterns,
      },
    });
    this.logger.info(
      { request: request.id, tenant: request.tenant, records: evidence.records, spans: evidence.spans, held: evidence.held },
      'erasure request executed',
    );
    return executed;
  }

  /**
   * A stream message's records without those an executed request covers (in
   * a cluster, a node replaying the stream after an erasure: a new node, or
   * one that was down or behind). A request covers the messages the stream
   * took up to its first execution, on whichever node; records ingested
   * later are stored as usual. The same conditions as the stored-row erasure
   * decide (legal holds included); what is dropped is never stored nor
   * sealed, and is counted in the request's evidence on this node.
   */
  async withoutErased(records: LogRecord[], seq: number, streamTimeMs: number): Promise<LogRecord[]> {
    let kept = records;
    for (const erasure of await this.executed()) {
      if (!streamMessageCovered(erasure, seq, streamTimeMs)) continue;
      const { request } = erasure;
      const candidates = kept.filter((record) => record.tenant === request.tenant);
      if (candidates.length === 0) continue;
      const activeHolds = (await this.holds.holds()).filter((hold) => !hold.released_at);
      const erased = await this.store.erasableUnstored(erasureMatch(this.database, request), activeHolds, seq, candidates);
      if (erased.size === 0) continue;
      kept = kept.filter((record) => !(record.tenant === request.tenant && erased.has(record.stream!.pos)));
      await this.countDropped(request.id, erased.size);
      this.logger.info({ request: request.id, seq, records: erased.size }, 'erased records of the stream dropped, not stored');
    }
    return kept;
  }

  /** As `withoutErased`, for the spans of a stream message: those an erasure executed after the stream took them covers are dropped. */
  async withoutErasedSpans(spans: SpanRecord[], seq: number, streamTimeMs: number): Promise<SpanRecord[]> {
    let kept = spans;
    for (const erasure of await this.executed()) {
      if (!streamMessageCovered(erasure, seq, streamTimeMs)) continue;
      const { request } = erasure;
      const candidates = kept.filter((span) => span.tenant === request.tenant);
      if (candidates.length === 0) continue;
      const activeHolds = (await this.holds.holds()).filter((hold) => !hold.released_at);
      const erased = await this.store.erasableSpans(erasureMatch(this.database, request), activeHolds, candidates);
      if (erased.size === 0) continue;
      kept = kept.filter((span) => !erased.has(spanKey(span)));
      await this.countDropped(request.id, erased.size, 'spans_dropped_from_stream');
      this.logger.info({ request: request.id, spans: erased.size }, 'erased spans of the stream dropped, not stored');
    }
    return kept;
  }

  /** Adds records (or spans) dropped from the stream to a request's evidence on this node. */
  private async countDropped(
    id: string,
    count: number,
    what: 'dropped_from_stream' | 'spans_dropped_from_stream' = 'dropped_from_stream',
  ): Promise<void> {
    await this.oneAtATime(async () => {
      const request = await this.get(id);
      if (request.status !== 'executed') return;
      const evidence = JSON.parse(request.evidence) as ErasureEvidence;
      evidence[what] = (evidence[what] ?? 0) + count;
      await this.store.save({ ...request, evidence: JSON.stringify(evidence) });
    });
  }

  /** The stream's last sequence (a cluster's first execution); unreachable, the execution's time stands in, as before sequences. */
  private async streamSequenceNow(): Promise<number | undefined> {
    if (!this.streamPosition) return undefined;
    try {
      return await this.streamPosition();
    } catch (error) {
      this.logger.warn({ err: error }, 'record stream position unknown: the erasure covers the stream up to its execution time');
      return undefined;
    }
  }

  private executed(): Promise<ExecutedErasure[]> {
    this.executedList ??= this.store
      .list()
      .then((requests) =>
        requests.filter((request) => request.status === 'executed').map((request) => ({ request, ...streamCoverage(request) })),
      );
    return this.executedList;
  }

  /** Executes every pending request whose cancellation window has ended. */
  async runDue(): Promise<ErasureRequest[]> {
    const now = Date.now();
    const due = (await this.store.list()).filter((request) => request.status === 'pending' && Date.parse(request.execute_after) <= now);
    const executed: ErasureRequest[] = [];
    for (const request of due) {
      try {
        executed.push(await this.execute(request.id, 'cancellation window ended'));
      } catch (error) {
        // Executed or cancelled since it was listed (in a cluster: another node's change arrived): the others still run.
        if (!(error instanceof MeshlogError && error.code === 'ML_CONFLICT')) throw error;
      }
    }
    return executed;
  }

  private oneAtATime<T>(action: () => Promise<T>): Promise<T> {
    const result = this.serial.then(action);
    this.serial = result.catch(() => undefined);
    return result;
  }

  private async pending(id: string): Promise<ErasureRequest> {
    const request = await this.get(id);
    if (request.status !== 'pending') throw new MeshlogError('ML_CONFLICT', `erasure request ${id} is already ${request.status}`);
    return request;
  }
}

/**
 * An executed request and how far its first execution covered the record stream: up to a stream sequence
 * (exact), or, for evidence written before sequences were recorded, up to a time (the executing node's
 * clock against the stream's timestamps).
 */
interface ExecutedErasure {
  request: ErasureRequest;
  streamUntilSeq?: number;
  streamUntilMs: number;
}

/** Whether a stream message (its sequence and the stream's time of it) came before the erasure's first execution. */
export function streamMessageCovered(
  erasure: Pick<ExecutedErasure, 'streamUntilSeq' | 'streamUntilMs'>,
  seq: number,
  streamTimeMs: number,
): boolean {
  return erasure.streamUntilSeq !== undefined ? seq <= erasure.streamUntilSeq : streamTimeMs <= erasure.streamUntilMs;
}

function streamCoverage(request: ErasureRequest): Pick<ExecutedErasure, 'streamUntilSeq' | 'streamUntilMs'> {
  const evidence = JSON.parse(request.evidence || '{}') as Partial<ErasureEvidence>;
  return { streamUntilSeq: evidence.stream_covered_until_seq, streamUntilMs: Date.parse(streamCoveredUntil(request)) };
}

/** Up to when an executed request covers the record stream: its first execution, on whichever node (older evidence: its execution). */
function streamCoveredUntil(request: ErasureRequest): string {
  const evidence = JSON.parse(request.evidence || '{}') as Partial<ErasureEvidence>;
  return evidence.stream_covered_until ?? evidence.executed_at ?? request.closed_at ?? new Date(0).toISOString();
}

/** A request's scope over logs and spans. */
export function erasureMatch(database: string, request: ErasureRequest): ErasureMatch {
  const scope = { database, tenant: request.tenant, startNs: BigInt(request.from_ns), endNs: BigInt(request.to_ns) + 1n };
  const selector = parseStreamSelector(request.selector);
  return {
    tenant: request.tenant,
    logs: compileSelectorCondition(scope, selector),
    spans: compileSelectorCondition(scope, selector, 'spans'),
  };
}

/** The integrity-chain events of an erasure: which positions of which batch, by which request. */
export function erasureEvents(requestId: string, plan: ErasurePlan, at: Date): SealEvent[] {
  return plan.batches.map((batch) => ({
    chain_id: batch.chain_id,
    batch_seq: batch.batch_seq,
    kind: 'erased' as const,
    detail: JSON.stringify({ request: requestId, positions: batch.positions, at: at.toISOString() }),
  }));
}

/** The request once executed, with its evidence. */
export function executedRequest(
  request: ErasureRequest,
  plan: ErasurePlan,
  patternsRemoved: number,
  execution: { at: Date; trigger: string; by: string; streamCoveredUntil: string; streamCoveredUntilSeq?: number },
): ErasureRequest {
  const evidence: ErasureEvidence = {
    executed_at: execution.at.toISOString(),
    trigger: execution.trigger,
    records: plan.batches.reduce((sum, batch) => sum + batch.positions.length, 0),
    batches: plan.batches.length,
    held: plan.held,
    spans: plan.spans,
    patterns: patternsRemoved,
    erased: plan.batches.map((batch) => ({ chain: batch.chain_id, batch_seq: Number(batch.batch_seq), records: batch.positions.length })),
    stream_covered_until: execution.streamCoveredUntil,
    ...(execution.streamCoveredUntilSeq === undefined ? {} : { stream_covered_until_seq: execution.streamCoveredUntilSeq }),
    dropped_from_stream: 0,
  };
  return {
    ...request,
    status: 'executed',
    closed_by: execution.by,
    closed_at: execution.at.toISOString(),
    evidence: JSON.stringify(evidence),
  };
}

/** The receipt: who asked for what to be erased, why, and until when it can be cancelled. */
export function receiptDetail(request: ErasureRequest): Record<string, unknown> {
  return {
    tenant: request.tenant,
    selector: request.selector,
    from: new Date(Number(BigInt(request.from_ns) / 1_000_000n)).toISOString(),
    to: new Date(Number(BigInt(request.to_ns) / 1_000_000n)).toISOString(),
    reason: request.reason,
    requested_by: request.requested_by,
    requested_at: request.requested_at,
    execute_after: request.execute_after,
  };
}
