import { MeshlogError } from '../errors.js';
import type { LimitedTraffic, LimitShare } from '../model/limitShare.js';
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

/** One node alone takes the whole of every limit. */
const wholeLimit: LimitShare = { nodesTaking: () => 1 };

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
  /** Each bucket with the rate it was last given (this node's share of the limit, which moves as nodes come and go). */
  private readonly buckets = new Map<string, { bucket: TokenBucket; ratePerSecond: number }>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly clock: () => number = Date.now,
    private readonly share: LimitShare = wholeLimit,
  ) {}

  ingestRequest(identity: Identity): void {
    this.take(
      `ingest/key/${identity.id}`,
      this.settings.ingest_requests_per_second_per_key,
      'ingest',
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
      this.take(`ingest/tenant/${tenant}`, rate, 'ingest', count, `records ingested into tenant "${tenant}"`, 'records');
  }

  /** One query of the key, counted against each tenant it reads (several for a multi-tenant read). */
  query(identity: Identity, tenants: string | readonly string[]): void {
    this.take(
      `query/key/${identity.id}`,
      this.settings.query_requests_per_second_per_key,
      'query',
      1,
      `queries of ${identity.name}`,
      'requests',
    );
    for (const tenant of [tenants].flat())
      this.take(
        `query/tenant/${tenant}`,
        this.settings.query_requests_per_second_per_tenant,
        'query',
        1,
        `queries of tenant "${tenant}"`,
        'requests',
      );
  }

  /** `limit`: the configured rate, of which this node enforces its share. */
  private take(key: string, limit: number, traffic: LimitedTraffic, count: number, what: string, unit: string): void {
    if (limit <= 0) return;
    const now = this.clock();
    const nodes = this.share.nodesTaking(traffic);
    // Never divided by less than one node (nor by a count that is not a number): at most the whole limit here.
    const ratePerSecond = limit / (nodes >= 1 ? nodes : 1);
    const burst = Math.max(1, ratePerSecond * this.settings.burst_seconds);
    let held = this.buckets.get(key);
    if (!held) {
      if (this.buckets.size >= maxBuckets) this.forgetFull(now);
      held = { bucket: new TokenBucket(ratePerSecond, burst, now), ratePerSecond };
      this.buckets.set(key, held);
    } else if (held.ratePerSecond !== ratePerSecond) {
      held.bucket.resize(ratePerSecond, burst, now);
      held.ratePerSecond = ratePerSecond;
    }
    const waitMs = held.bucket.take(count, now);
    if (waitMs > 0) {
      // The configured limit is named: it is the cluster's, whatever this node's share of it.
      throw new MeshlogError('ML_RATE_LIMITED', `${what} above ${limit} ${unit}/s`, {
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      });
    }
  }

  private forgetFull(now: number): void {
    for (const [key, held] of this.buckets) if (held.bucket.isFull(now)) this.buckets.delete(key);
  }
}
