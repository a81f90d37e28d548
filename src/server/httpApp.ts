import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import { presentedToken } from '../security/presentedToken.js';
import { tenantFromHeader } from '../security/tenant.js';
import { asMeshlogError, sendError } from './errorReply.js';
import type { IngestContext } from './ingestContext.js';
import { registerIngestRoutes } from './routes/index.js';
import { lokiQueryRoutes, type LokiQueryDeps } from './routes/lokiQueryRoutes.js';
import { integrityRoutes, type IntegrityDeps } from './routes/integrityRoutes.js';
import { patternRoutes, type PatternRouteDeps } from './routes/patternRoutes.js';
import { hecHealthPaths } from './routes/splunkHecRoute.js';

export interface HttpAppOptions {
  config: MeshlogConfig;
  logger: Logger;
  metrics: Metrics;
  ingest: IngestContext;
  /** Throws a MeshlogError when the presented token is not acceptable; undefined = --auth=none. */
  authenticate: ((token: string | undefined) => void) | undefined;
  isReady: () => boolean;
  /** Loki's read API; its routes run behind the same auth hook as ingest. */
  queries: LokiQueryDeps;
  /** Absent when sealing is off. */
  integrity: IntegrityDeps | undefined;
  /** Absent when pattern mining is off. */
  patterns?: PatternRouteDeps;
}

/** Routes anyone may call: probes must work before credentials exist. */
const publicRoutes = new Set(['/ready', ...hecHealthPaths]);

/** The HTTP port: every HTTP API of meshlog under its standard path. */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const { config, metrics } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request lines would double the log volume of a log server; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.ingest.max_body_bytes,
    return503OnClosing: true,
  });

  // Receivers decode their own wire formats: hand them the raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.decorateRequest('tenant', '');

  app.addHook('onRequest', async (request) => {
    if (publicRoutes.has(request.routeOptions.url ?? '')) return;
    options.authenticate?.(presentedToken(request.headers));
    request.tenant = tenantFromHeader(request.headers['x-scope-orgid']);
  });

  // While stopping, answers close their keep-alive connection so close() can finish.
  app.addHook('onSend', async (_request, reply) => {
    if (!options.isReady()) reply.header('connection', 'close');
  });

  app.setErrorHandler((error, request, reply) => {
    const meshlogError = asMeshlogError(error);
    metrics.requestsRejected.inc({ code: meshlogError.code });
    if (meshlogError.status >= 500) request.log.error({ code: meshlogError.code, url: request.url, reason: meshlogError.message }, 'request failed');
    else request.log.debug({ code: meshlogError.code, url: request.url, reason: meshlogError.message }, 'request refused');
    return sendError(meshlogError, request, reply);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ status: 'error', errorType: 'ML_NOT_FOUND', error: `no route ${request.method} ${request.url}` }),
  );

  app.get('/ready', async (_request, reply) =>
    options.isReady() ? reply.type('text/plain').send('ready\n') : reply.code(503).type('text/plain').send('starting\n'),
  );
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  registerIngestRoutes(app, options.ingest);
  lokiQueryRoutes(app, options.queries);
  if (options.integrity) integrityRoutes(app, options.integrity);
  if (options.patterns) patternRoutes(app, options.patterns);
  return app;
}
