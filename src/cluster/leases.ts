import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { ClusterConfig } from './clusterConfig.js';

const leaseBucket = 'meshlog_leases';
const stateBucket = 'meshlog_lease_state';

/** One turn of holding a lease: the fencing token, and whether this node just took it (from nobody, or from a node that let it lapse). */
export interface LeaseTurn {
  token: number;
  takenOver: boolean;
}

/** Lease names are ours (letters, digits, `-`, `_` and `.`). */
const leaseName = /^[A-Za-z0-9_.-]{1,200}$/;

/**
 * Leases for run-once work (alert rule groups, and with a shared ClickHouse
 * the schema migrations, retention, erasure and monthly reports), held in a
 * replicated JetStream key-value bucket whose entries expire after
 * `cluster.leases.ttl_ms` unless renewed. No consensus of our own: taking a
 * lease is JetStream's create-if-absent, renewing it is an update with the
 * expected revision, and that revision is the fencing token. A node acts
 * only right after renewing at the token it holds: a node whose lease
 * lapsed (paused, cut off) finds its token stale, the renewal refused, and
 * does nothing.
 */
export class Leases {
  /** The revision this node last wrote, by lease. */
  private readonly held = new Map<string, number>();

  private constructor(
    private readonly leases: KV,
    private readonly states: KV,
    readonly nodeId: string,
    private readonly renewEveryMs: number,
    private readonly logger: Logger,
  ) {}

  static async open(connection: NatsConnection, config: ClusterConfig, nodeId: string, logger: Logger): Promise<Leases> {
    const kvm = new Kvm(connection);
    const replicas = config.stream.replicas;
    // The bucket's max age is the lease's time to live: JetStream itself removes a lease its holder stopped renewing.
    const leases = await kvm.create(leaseBucket, { replicas, history: 1, ttl: config.leases.ttl_ms });
    const states = await kvm.create(stateBucket, { replicas, history: 1 });
    return new Leases(leases, states, nodeId, Math.max(100, Math.floor(config.leases.ttl_ms / 3)), logger);
  }

  private holder(): string {
    return JSON.stringify({ node: this.nodeId, at: new Date().toISOString() });
  }

  /** Takes the lease or renews it; undefined while another node holds it (or NATS cannot be reached). */
  async acquire(name: string): Promise<LeaseTurn | undefined> {
    if (!leaseName.test(name)) throw new Error(`not a lease name: ${name}`);
    const mine = this.held.get(name);
    if (mine !== undefined) {
      const token = await this.renew(name, mine);
      if (token !== undefined) return { token, takenOver: false };
    }
    try {
      const token = await this.leases.create(name, this.holder());
      this.held.set(name, token);
      return { token, takenOver: true };
    } catch {
      // Held: by another node, or by this node before a restart (then it is taken back at once rather than after the TTL).
    }
    try {
      const entry = await this.leases.get(name);
      if (entry?.operation !== 'PUT' || entry.json<{ node: string }>().node !== this.nodeId) return undefined;
      const token = await this.leases.update(name, this.holder(), entry.revision);
      this.held.set(name, token);
      return { token, takenOver: true };
    } catch (error) {
      this.logger.debug({ lease: name, reason: (error as Error).message }, 'lease not taken');
      return undefined;
    }
  }

  /** Renews the lease only if it is still at `token` (this node's last write): the new token, or undefined when it was lost. */
  async renew(name: string, token: number): Promise<number | undefined> {
    try {
      const next = await this.leases.update(name, this.holder(), token);
      this.held.set(name, next);
      return next;
    } catch {
      if (this.held.get(name) === token) this.held.delete(name);
      return undefined;
    }
  }

  /** Lets the lease go now (a node stopping), so another takes it without waiting for the TTL. */
  async release(name: string): Promise<void> {
    const token = this.held.get(name);
    if (token === undefined) return;
    this.held.delete(name);
    await this.leases.delete(name, { previousSeq: token }).catch(() => undefined);
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
    await this.holding(name, turn.token, job);
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
      return await this.holding(name, turn.token, job);
    } finally {
      await this.release(name);
    }
  }

  /** Renews every third of the TTL while `job` runs; a renewal refused is logged (the job may have outlived its lease). */
  private async holding<T>(name: string, token: number, job: () => Promise<T>): Promise<T> {
    let current: number | undefined = token;
    const heartbeat = setInterval(() => {
      if (current === undefined) return;
      void this.renew(name, current).then((next) => {
        if (next === undefined) this.logger.error({ lease: name }, 'lease lost while its job ran: another node may run it too');
        current = next;
      });
    }, this.renewEveryMs);
    heartbeat.unref();
    try {
      return await job();
    } finally {
      clearInterval(heartbeat);
    }
  }
}
