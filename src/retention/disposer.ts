import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DisposalSummary } from '../api/retention.js';
import type { MeshlogConfig } from '../config/schema.js';
import { MeshlogError } from '../errors.js';
import { parseLokiDuration } from '../query/lokiParams.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { auditTenant } from '../model/auditTenant.js';
import type { Identity } from '../security/identity.js';
import type { LegalHold, RetentionRule, RetentionStore } from '../storage/stores/retentionStore.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import type { DeletionLedger } from './deletionLedger.js';
import type { DeletionLock } from './deletionLock.js';

/** `30d` → seconds; Go durations otherwise. */
export function maxAgeSeconds(value: string): number {
  const days = /^(\d+)d$/.exec(value);
  return days ? Number(days[1]) * 86_400 : Number(parseLokiDuration(value, 'max_age') / 1_000_000_000n);
}

/** The configured policies as rules: first match wins, then the audit-trail rule (for tenant _audit), then the default. */
export function retentionRules(retention: MeshlogConfig['retention']): {
  rules: RetentionRule[];
  fallback: RetentionRule;
  audit: RetentionRule;
} {
  return {
    rules: retention.policies.map((policy) => ({
      name: policy.name,
      tenant: policy.tenant,
      service: policy.service,
      maxSeverity: policy.max_severity,
      maxAgeSeconds: maxAgeSeconds(policy.max_age),
    })),
    fallback: { name: 'default', maxAgeSeconds: maxAgeSeconds(retention.default_max_age) },
    audit: { name: 'audit-trail', maxAgeSeconds: maxAgeSeconds(retention.audit_max_age) },
  };
}

/**
 * Keeps logs exactly as long as policy says: disposes of records past their
 * policy that no legal hold covers, and leaves evidence of each disposal in
 * the integrity chain (which batch, which positions, which policy, when), so
 * `meshlog verify` reports them as disposed rather than missing.
 */
export class Disposer {
  private readonly rules: RetentionRule[];
  private readonly fallback: RetentionRule;
  private readonly auditRule: RetentionRule;
  /** Holds kept elsewhere than legal_holds (an incident's pinned records), asked for at every run. */
  private readonly holdSources: (() => Promise<LegalHold[]>)[] = [];

  constructor(
    private readonly store: RetentionStore,
    private readonly seals: SealStore | undefined,
    private readonly audit: AuditTrail,
    retention: MeshlogConfig['retention'],
    private readonly ledger: DeletionLedger,
    private readonly lock: DeletionLock,
    private readonly logger: Logger,
  ) {
    ({ rules: this.rules, fallback: this.fallback, audit: this.auditRule } = retentionRules(retention));
  }

  get policies(): RetentionRule[] {
    return [...this.rules, this.auditRule, this.fallback];
  }

  /** The longest any record of a tenant may be kept (an archive of it must outlive each of them). */
  longestRetentionSeconds(tenant: string): number {
    if (tenant === auditTenant) return this.auditRule.maxAgeSeconds;
    return Math.max(
      this.fallback.maxAgeSeconds,
      ...this.rules.filter((rule) => rule.tenant === undefined || rule.tenant === tenant).map((rule) => rule.maxAgeSeconds),
    );
  }

  /** Adds a source of holds every disposal run respects besides the legal holds placed here. */
  holdAlso(source: () => Promise<LegalHold[]>): void {
    this.holdSources.push(source);
  }

  /** Every hold in force now: legal holds not released, and those of the other sources. */
  async activeHolds(): Promise<LegalHold[]> {
    const placed = (await this.store.holds()).filter((hold) => !hold.released_at);
    const others = await Promise.all(this.holdSources.map((source) => source()));
    return [...placed, ...others.flat()];
  }

  async run(trigger: string, actor?: Identity): Promise<DisposalSummary> {
    const holds = await this.activeHolds();
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const at = new Date(Number(nowNs / 1_000_000n)).toISOString();
    const disposed = await this.lock.run(() =>
      this.store.dispose({ rules: this.rules, fallback: this.fallback, audit: this.auditRule, holds, nowNs }, async (batches) => {
        const events = batches.map((batch) => ({
          chain_id: batch.chain_id,
          batch_seq: batch.batch_seq,
          kind: 'disposed' as const,
          detail: JSON.stringify({ policy: batch.policy, positions: batch.positions, at, trigger }),
        }));
        this.ledger.append({
          kind: 'disposal',
          at,
          batches: batches.map(({ chain_id, batch_seq, positions }) => ({ chain_id, batch_seq, positions })),
          events,
        });
        await this.seals?.insertEvents(events);
      }),
    );
    const summary: DisposalSummary = {
      batches: new Set(disposed.map((batch) => `${batch.chain_id}#${batch.batch_seq}`)).size,
      records: 0,
      byPolicy: {},
    };
    for (const batch of disposed) {
      summary.records += batch.positions.length;
      summary.byPolicy[batch.policy] = (summary.byPolicy[batch.policy] ?? 0) + batch.positions.length;
    }
    if (summary.records > 0 || actor) {
      await this.audit.record({
        action: 'retention.dispose',
        outcome: 'success',
        actor,
        detail: { trigger, ...summary, holds: holds.length },
      });
      this.logger.info({ trigger, ...summary }, 'disposed of expired records');
    }
    return summary;
  }

  async placeHold(
    hold: { name: string; tenant: string; service?: string; from?: string; to?: string; reason: string },
    actor: Identity,
  ): Promise<LegalHold> {
    const saved: LegalHold = {
      id: randomBytes(6).toString('hex'),
      name: hold.name,
      tenant: hold.tenant,
      service: hold.service ?? '',
      from_time: hold.from ?? null,
      to_time: hold.to ?? null,
      reason: hold.reason,
      created_by: actor.name,
      created_at: new Date().toISOString(),
      released_at: null,
      released_by: '',
    };
    await this.store.saveHold(saved);
    return saved;
  }

  async releaseHold(id: string, actor: Identity): Promise<LegalHold> {
    const hold = (await this.store.holds()).find((candidate) => candidate.id === id);
    if (!hold) throw new MeshlogError('ML_NOT_FOUND', `no legal hold ${id}`);
    const released = { ...hold, released_at: new Date().toISOString(), released_by: actor.name };
    await this.store.saveHold(released);
    return released;
  }
}
