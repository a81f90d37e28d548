import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ConnectionsPerAddress } from '../ingest/sources/shared/connectionsPerAddress.js';
import type { MeshlogConfig } from '../config/schema.js';
import type { RateLimits } from '../security/rateLimits.js';

/** Node checks header and request timeouts this often (its default, 30 s, would let a slow client linger that much longer). */
export const slowClientChecks = { connectionsCheckingInterval: 1000 };

/**
 * The HTTP port's abuse limits: per-credential and per-tenant rates, checked
 * right after authentication (so a refused request never reads its body),
 * open connections, and how long a client may take to send a request.
 */
export function httpLimits(app: FastifyInstance, limits: MeshlogConfig['limits'], rates: RateLimits): void {
  app.server.maxConnections = limits.max_connections_per_listener;
  // After http's own connection listener: a refused socket is destroyed before it is read.
  const perAddress = new ConnectionsPerAddress(limits.max_connections_per_address, (refused, address, max) =>
    app.log.warn(
      { listener: 'http', refused, address, maxConnectionsPerAddress: max },
      'connections refused: client address at its connection limit',
    ),
  );
  app.server.on('connection', (socket: Socket) => perAddress.admit(socket));
  // Slowloris: headers, then the whole request, each within a bound. Responses
  // (live tails) may stream for as long as they like.
  app.server.headersTimeout = limits.http_headers_timeout_ms;
  app.server.requestTimeout = limits.http_request_timeout_ms;

  app.addHook('onRequest', async (request) => {
    const identity = request.identity;
    if (!identity) return;
    const permission = request.routeOptions.config?.permission;
    if (permission === 'ingest') rates.ingestRequest(identity);
    else if (permission === 'query') rates.query(identity, request.tenants);
  });
}
