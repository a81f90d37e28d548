import { MeshlogError } from '../errors.js';
import type { Identity } from './identity.js';
import { TokenBucket } from './tokenBucket.js';

export interface RateLimitSettings {
  /** Buckets hold this many seconds of their rate. */
  burst_seconds: number;
  /** 0 turns a limit off. */
  ingest_requests_per_second_per_key: number;
  ingest_records_per_second_per_tenant: number;
  query_requests_per_second_per_key: number;
  query_requests_per_second_per_tenant: number;
}

/** Past this many buckets, full ones (idle credentials and tenants) are forgotten. */
const maxBuckets = 10_000;

/**
 * Abuse limits as token buckets: requests per credential (HTTP and gRPC
 * requests, forward chunks, syslog TLS reads: wherever a credential is
 * checked) and, per tenant, ingested records
 * (every protocol, where records enter the pipeline) and queries. A refusal
 * is ML_RATE_LIMITED with the wait until it would pass; each protocol answers
 * it in its own retryable shape (429 + Retry-After, gRPC UNAVAILABLE, no
 * forward ack, syslog TCP backpressure).
 */
export class RateLimits {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly clock: () => number = Date.now,
  ) {}

  ingestRequest(identity: Identity): void {
    this.take(
      `ingest/key/${identity.id}`,
      this.settings.ingest_requests_per_second_per_key,
      1,
      `ingest requests of ${identity.name}`,
      'requests',
    );
  }

  /** `recordsPerTenant`: how many records of each tenant one request brings. */
  ingestRecords(recordsPerTenant: ReadonlyMap<string, number>): void {
    const rate = this.settings.ingest_records_per_second_per_tenant;
    if (rate <= 0) return;
    for (const [tenant, count] of recordsPerTenant)
      this.take(`ingest/tenant/${tenant}`, rate, count, `records ingested into tenant "${tenant}"`, 'records');
  }

  /** One query of the key, counted against each tenant it reads (several for a multi-tenant read). */
  query(identity: Identity, tenants: string | readonly string[]): void {
    this.take(`query/key/${identity.id}`, this.settings.query_requests_per_second_per_key, 1, `queries of ${identity.name}`, 'requests');
    for (const tenant of [tenants].flat())
      this.take(
        `query/tenant/${tenant}`,
        this.settings.query_requests_per_second_per_tenant,
        1,
        `queries of tenant "${tenant}"`,
        'requests',
      );
  }

  private take(key: string, ratePerSecond: number, count: number, what: string, unit: string): void {
    if (ratePerSecond <= 0) return;
    const now = this.clock();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= maxBuckets) this.forgetFull(now);
      bucket = new TokenBucket(ratePerSecond, Math.max(1, ratePerSecond * this.settings.burst_seconds), now);
      this.buckets.set(key, bucket);
    }
    const waitMs = bucket.take(count, now);
    if (waitMs > 0) {
      throw new MeshlogError('ML_RATE_LIMITED', `${what} above ${ratePerSecond} ${unit}/s`, {
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      });
    }
  }

  private forgetFull(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
  }
}
