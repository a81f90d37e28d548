import type { NatsConnection } from '@nats-io/transport-node';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { ClusterConfig } from './clusterConfig.js';
import { openBucket } from './replicatedState.js';

const leaseBucket = 'meshlog_leases';
const stateBucket = 'meshlog_lease_state';

/** One turn of holding a lease: the fencing token, and whether this node just took it (from nobody, or from a node that let it lapse). */
export interface LeaseTurn {
  token: number;
  takenOver: boolean;
}

/** Lease names are ours (letters, digits, `-`, `_` and `.`). */
const leaseName = /^[A-Za-z0-9_.-]{1,200}$/;

/** A lease's value: who holds it and until when (by the holder's clock; a released lease has expired). */
interface Holder {
  node: string;
  expires_at: number;
}

/**
 * Leases for run-once work (alert rule groups, and with a shared ClickHouse
 * the schema migrations, retention, erasure and monthly reports), held in a
 * replicated JetStream key-value bucket. No consensus of our own: each change
 * of a lease is one JetStream publish that replaces revision r only if r is
 * still the key's last (expected last subject sequence) and carries the
 * message id `<lease>@<r>`, so of two nodes replacing the same revision at
 * once JetStream keeps one (its duplicate detection: the sequence check alone
 * lets concurrent writers through on nats-server before 2.9.21, issue
 * nats-io/nats-server#4320). The revision is the fencing token: a node acts
 * only right after renewing at the token it holds, so a node whose lease
 * lapsed (paused, cut off) and was taken finds its token stale and does
 * nothing. A lease not renewed for `cluster.leases.ttl_ms` may be taken by
 * another node (by its clock: skew moves when a lapsed lease is taken, never
 * lets two nodes hold it).
 */
export class Leases {
  /** The revision this node last wrote, by lease. */
  private readonly held = new Map<string, number>();

  private constructor(
    private readonly client: JetStreamClient,
    private readonly leases: KV,
    private readonly states: KV,
    readonly nodeId: string,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  static async open(connection: NatsConnection, config: ClusterConfig, nodeId: string, logger: Logger): Promise<Leases> {
    const replicas = config.stream.replicas;
    const leases = await openBucket(connection, leaseBucket, { replicas, history: 1 }, logger);
    const states = await openBucket(connection, stateBucket, { replicas, history: 1 }, logger);
    return new Leases(jetstream(connection), leases, states, nodeId, config.leases.ttl_ms, logger);
  }

  /** Replaces revision `expected` (0: the lease was never written) of a lease; the new revision, or undefined when another write came first. */
  private async write(name: string, expected: number, holder: Holder): Promise<number | undefined> {
    try {
      const ack = await this.client.publish(`$KV.${leaseBucket}.${name}`, JSON.stringify(holder), {
        msgID: `${name}@${expected}`,
        expect: { lastSubjectSequence: expected },
      });
      // A duplicate: another node's write replaced this revision first.
      return ack.duplicate ? undefined : ack.seq;
    } catch (error) {
      this.logger.debug({ lease: name, reason: (error as Error).message }, 'lease not written');
      return undefined;
    }
  }

  private holding(): Holder {
    return { node: this.nodeId, expires_at: Date.now() + this.ttlMs };
  }

  /** Takes the lease or renews it; undefined while another node holds it (or NATS cannot be reached). */
  async acquire(name: string): Promise<LeaseTurn | undefined> {
    if (!leaseName.test(name)) throw new Error(`not a lease name: ${name}`);
    const mine = this.held.get(name);
    if (mine !== undefined) {
      const token = await this.renew(name, mine);
      if (token !== undefined) return { token, takenOver: false };
    }
    let entry: KvEntry | null;
    try {
      // From the stream leader (openBucket), which applied every write acknowledged so far: a lease released is read as free.
      // A write another node makes after this read still replaces the revision first: then the write below takes nothing.
      entry = await this.leases.get(name);
    } catch {
      return undefined;
    }
    const current = entry?.operation === 'PUT' ? entry.json<Holder>() : undefined;
    // Held by another node and not lapsed. This node's own (from before a restart) is taken back at once.
    if (current && current.node !== this.nodeId && current.expires_at > Date.now()) return undefined;
    const token = await this.write(name, entry?.revision ?? 0, this.holding());
    if (token === undefined) return undefined;
    this.held.set(name, token);
    return { token, takenOver: true };
  }

  /** Renews the lease only if it is still at `token` (this node's last write): the new token, or undefined when it was lost. */
  async renew(name: string, token: number): Promise<number | undefined> {
    const next = await this.write(name, token, this.holding());
    if (next === undefined) {
      if (this.held.get(name) === token) this.held.delete(name);
      return undefined;
    }
    this.held.set(name, next);
    return next;
  }

  /** Lets the lease go now (a node stopping), so another takes it without waiting for it to lapse. */
  async release(name: string): Promise<void> {
    const token = this.held.get(name);
    if (token === undefined) return;
    this.held.delete(name);
    await this.write(name, token, { node: '', expires_at: 0 });
  }

  /** A node stopping lets every lease it holds go. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((name) => this.release(name)));
  }

  /** What the last holder of a lease left for the next one (e.g. which alerts fire), if anything. */
  async stateOf<T>(name: string): Promise<T | undefined> {
    const entry = await this.states.get(name);
    return entry?.operation === 'PUT' ? entry.json<T>() : undefined;
  }

  /**
   * Fenced: renews the lease at `token` and, only if that succeeded, leaves
   * `state` for the next holder. The new token, or undefined when the lease
   * was lost: then the caller must not act on what it computed.
   */
  async keep(name: string, token: number, state: unknown): Promise<number | undefined> {
    const next = await this.renew(name, token);
    if (next === undefined) return undefined;
    await this.states.put(name, JSON.stringify(state));
    return next;
  }

  /** Runs `job` if this node holds (or takes) the lease, renewing it while the job runs; false when another node holds it. */
  async runOnce(name: string, job: () => Promise<unknown>): Promise<boolean> {
    const turn = await this.acquire(name);
    if (!turn) return false;
    await this.whileRunning(name, turn.token, job);
    return true;
  }

  /** Waits until this node holds the lease, runs `job`, and lets the lease go: the job runs on one node at a time. */
  async exclusive<T>(name: string, job: () => Promise<T>, pollMs = 250): Promise<T> {
    let turn = await this.acquire(name);
    while (!turn) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      turn = await this.acquire(name);
    }
    try {
      return await this.whileRunning(name, turn.token, job);
    } finally {
      await this.release(name);
    }
  }

  /** Renews every third of the TTL while `job` runs; a renewal refused is logged (the job may have outlived its lease). */
  private async whileRunning<T>(name: string, token: number, job: () => Promise<T>): Promise<T> {
    let current: number | undefined = token;
    const heartbeat = setInterval(
      () => {
        if (current === undefined) return;
        void this.renew(name, current).then((next) => {
          if (next === undefined) this.logger.error({ lease: name }, 'lease lost while its job ran: another node may run it too');
          current = next;
        });
      },
      Math.max(100, Math.floor(this.ttlMs / 3)),
    );
    heartbeat.unref();
    try {
      return await job();
    } finally {
      clearInterval(heartbeat);
    }
  }
}
