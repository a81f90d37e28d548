import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { RecordPublisher } from '../cluster/recordStream.js';
import type { LimitShare } from '../model/limitShare.js';
import type { Metrics } from '../observability/metrics.js';
import { composeStages } from '../pipeline/ingestPipeline.js';
import type { PatternRecorder } from '../pipeline/patterns/patternRecorder.js';
import { pipelineStages } from '../pipeline/pipelineStages.js';
import type { Authenticate } from '../security/authenticator.js';
import type { AuthFailures } from '../security/loginThrottle.js';
import { RateLimits } from '../security/rateLimits.js';
import type { TenantRegistry } from '../security/tenantRegistry.js';
import type { Storage } from '../storage/engine/storage.js';
import { ingestContext } from './ingestContext.js';
import { buildListeners } from './ingestListeners.js';
import { registerIngestRoutes } from './ingestRoutes.js';
import type { Listener } from './listener.js';
import type { RedeliveryFilter } from './redeliveryFilter.js';
import { timeWindowFromConfig } from './sources/shared/timeWindow.js';
import type { LogWriter } from './writer.js';

/**
 * Every way records come in (`ingest`, `pipeline`, `limits`, and the
 * listener sections): the ingest context (pipeline stages, limits, the
 * writer or the cluster's stream), the HTTP ingest routes and the TCP/UDP/gRPC
 * listeners, which the server starts once HTTP listens and stops with it.
 */
export function ingestSubsystem(
  config: MeshlogConfig,
  deps: {
    /** The writer subsystem's parts: accepted records go through the redelivery filter to the writer, mined for patterns on the way. */
    written: { writer: LogWriter; redeliveries: RedeliveryFilter; patterns: PatternRecorder | undefined };
    storage: Storage;
    /** In a cluster: receivers publish to the replicated stream. */
    stream: RecordPublisher | undefined;
    /** In a cluster with `limits.strategy: global`: how many nodes share each rate limit. */
    limitShare: LimitShare | undefined;
    /** The access subsystem's parts: who may ingest, which tenants are disabled, failed authentications. */
    access: { tenants: TenantRegistry; authenticate: Authenticate; authFailures: AuthFailures };
    metrics: Metrics;
    logger: Logger;
  },
) {
  const { metrics } = deps;
  const { writer, redeliveries, patterns } = deps.written;
  const rateLimits = new RateLimits(config.limits, Date.now, deps.limitShare);
  const ingest = ingestContext({
    writer,
    storage: deps.storage,
    // Patterns are mined last, from the redacted bodies that are stored.
    pipeline: composeStages([
      ...pipelineStages(
        config.pipeline,
        (rule, count) => metrics.redactions.inc({ rule }, count),
        (receiver, reason, count) => metrics.recordsUnparsed.inc({ receiver, reason }, count),
      ),
      ...(patterns ? [patterns.stage] : []),
    ]),
    redeliveries,
    stream: deps.stream,
    metrics,
    logger: deps.logger,
    maxDecompressedBytes: config.ingest.max_decompressed_bytes,
    rateLimits,
    tenants: deps.access.tenants,
    timeWindow: timeWindowFromConfig(config.ingest),
    connectionLimits: {
      maxConnections: config.limits.max_connections_per_listener,
      maxConnectionsPerAddress: config.limits.max_connections_per_address,
      idleTimeoutMs: config.limits.tcp_idle_timeout_ms,
      handshakeTimeoutMs: config.limits.tls_handshake_timeout_ms,
    },
  });
  ingest.authFailures = deps.access.authFailures;
  const listeners: Listener[] = [];
  const routes: FastifyPluginAsync = async (app) => registerIngestRoutes(app, ingest);
  return {
    /** Per-credential and per-tenant rates, shared with the HTTP port. */
    rateLimits,
    routes,
    /** The listeners started, for SIGHUP's certificate reload and the stop. */
    listeners,
    /** Starts each listener; resolves with their bound addresses. */
    async startListeners(): Promise<Record<string, string>> {
      const addresses: Record<string, string> = {};
      for (const listener of buildListeners(config, ingest, deps.access.authenticate)) {
        addresses[listener.name] = await listener.start();
        listeners.push(listener);
      }
      return addresses;
    },
  };
}
