import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import { compileSelectorCondition } from '../query/logql/compiler.js';
import { parseStreamSelector } from '../query/logql/streamSelector.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Identity } from '../security/identity.js';
import type { ErasedBatch, ErasureRequest, ErasureStore } from '../storage/erasureStore.js';
import type { RetentionStore } from '../storage/retentionStore.js';
import type { SealStore } from '../storage/sealStore.js';

/** What an executed request leaves behind, beside the per-batch events in the integrity chain. */
export interface ErasureEvidence {
  executed_at: string;
  trigger: string;
  records: number;
  batches: number;
  /** Matching records a legal hold kept. */
  held: number;
  erased: { chain: string; batch_seq: number; records: number }[];
}

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

  constructor(
    private readonly store: ErasureStore,
    private readonly holds: RetentionStore,
    private readonly seals: SealStore | undefined,
    private readonly audit: AuditTrail,
    private readonly database: string,
    private readonly cancelWindowMs: number,
    private readonly logger: Logger,
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
    if (scope.tenant.startsWith('_')) throw new MeshlogError('ML_FORBIDDEN', `tenant "${scope.tenant}" is reserved: the audit trail is not erasable`);
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
    await this.audit.record({ action: 'erasure.request', outcome: 'success', actor, remoteAddress, tenant: request.tenant, target: request.id, detail: receiptDetail(request) });
    return request;
  }

  async cancel(id: string, reason: string, actor: Identity, remoteAddress?: string): Promise<ErasureRequest> {
    return this.oneAtATime(async () => {
      const request = await this.pending(id);
      const cancelled: ErasureRequest = { ...request, status: 'cancelled', closed_by: actor.name, closed_at: new Date().toISOString(), cancel_reason: reason };
      await this.store.save(cancelled);
      await this.audit.record({ action: 'erasure.cancel', outcome: 'success', actor, remoteAddress, tenant: request.tenant, target: id, detail: { reason } });
      return cancelled;
    });
  }

  /** Runs one pending request now, whether or not its cancellation window has ended. */
  async execute(id: string, trigger: string, actor?: Identity, remoteAddress?: string): Promise<ErasureRequest> {
    return this.oneAtATime(async () => {
      const request = await this.pending(id);
      const executedAt = new Date();
      const scope = { database: this.database, tenant: request.tenant, startNs: BigInt(request.from_ns), endNs: BigInt(request.to_ns) + 1n };
      const matching = compileSelectorCondition(scope, parseStreamSelector(request.selector));
      const activeHolds = (await this.holds.holds()).filter((hold) => !hold.released_at);
      const { batches, held } = await this.store.erase(matching, activeHolds, async (erased: ErasedBatch[]) => {
        await this.seals?.insertEvents(
          erased.map((batch) => ({
            chain_id: batch.chain_id,
            batch_seq: batch.batch_seq,
            kind: 'erased' as const,
            detail: JSON.stringify({ request: request.id, positions: batch.positions, at: executedAt.toISOString() }),
          })),
        );
      });
      const evidence: ErasureEvidence = {
        executed_at: executedAt.toISOString(),
        trigger,
        records: batches.reduce((sum, batch) => sum + batch.positions.length, 0),
        batches: batches.length,
        held,
        erased: batches.map((batch) => ({ chain: batch.chain_id, batch_seq: Number(batch.batch_seq), records: batch.positions.length })),
      };
      const executed: ErasureRequest = {
        ...request,
        status: 'executed',
        closed_by: actor?.name ?? 'meshlog (cancellation window ended)',
        closed_at: executedAt.toISOString(),
        evidence: JSON.stringify(evidence),
      };
      await this.store.save(executed);
      await this.audit.record({
        action: 'erasure.execute',
        outcome: 'success',
        actor,
        remoteAddress,
        tenant: request.tenant,
        target: id,
        detail: { trigger, records: evidence.records, batches: evidence.batches, held },
      });
      this.logger.info({ request: id, tenant: request.tenant, records: evidence.records, held }, 'erasure request executed');
      return executed;
    });
  }

  /** Executes every pending request whose cancellation window has ended. */
  async runDue(): Promise<ErasureRequest[]> {
    const now = Date.now();
    const due = (await this.store.list()).filter((request) => request.status === 'pending' && Date.parse(request.execute_after) <= now);
    const executed: ErasureRequest[] = [];
    for (const request of due) executed.push(await this.execute(request.id, 'cancellation window ended'));
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

/** The receipt: who asked for what to be erased, why, and until when it can be cancelled. */
export function receiptDetail(request: ErasureRequest): Record<string, unknown> {
  return {
    tenant: request.tenant,
    selector: request.selector,
    from: new Date(Number(BigInt(request.from_ns) / 1_000_000n)).toISOString(),
    to: new Date(Number(BigInt(request.to_ns) / 1_000_000n)).toISOString(),
    reason: request.reason,
    requested_by: request.requested_by,
    execute_after: request.execute_after,
  };
}
