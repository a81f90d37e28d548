import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Authenticate } from '../security/authenticator.js';
import { requireAllTenants, requirePermission, type Identity, type Permission } from '../security/identity.js';
import { pathToken, presentedToken } from '../security/presentedToken.js';
import { scrubUrl } from '../observability/credentialScrubber.js';
import { accessOfRoute, type RouteAccess, type Tenancy } from '../security/routeAccess.js';
import { clientCertificateIdentity, serverTlsOptions } from '../security/tlsOptions.js';
import type { TLSSocket } from 'node:tls';
import { tenantHeaderOf, tenantsOfRequest } from '../security/tenant.js';
import { errorHandler } from '../http/errorReply.js';
import type { MeshlogError } from '../errors.js';
import type { ReadMaskingDeps } from '../query/readPolicy.js';
import { decorateReadPolicy } from '../query/routes/requestReadPolicy.js';
import { httpLimits, slowClientChecks } from './httpLimits.js';
import { tenantStateHook } from './tenantStateHook.js';
import type { RateLimits } from '../security/rateLimits.js';
import type { SessionStore } from '../security/sessions.js';
import { sessionOfRequest } from '../security/sessionCookie.js';
import { AuthFailures, LoginThrottle } from '../security/loginThrottle.js';
import type { TenantRegistry } from '../security/tenantRegistry.js';
import type { UserRegistry } from '../security/userRegistry.js';

export interface HttpAppOptions {
  config: MeshlogConfig;
  logger: Logger;
  metrics: Metrics;
  /** Why ingest is refused right now (a nearly full data disk), for /ready; undefined while it is taken. */
  ingestPaused?: () => string | undefined;
  /** Who may do what (the access subsystem's parts). */
  access: HttpAccess;
  isReady: () => boolean;
  /** What a dependency of this node lacks right now (in a cluster: NATS, the record stream, its consumer); /ready answers 503 with it. */
  dependencyProblem?: () => Promise<string | undefined>;
  /** Per-credential and per-tenant rates, shared with the other listeners. */
  rateLimits?: RateLimits;
  /** Sensitive values masked in every read answer unless the reader may unmask (request.readPolicy). */
  masking?: ReadMaskingDeps;
}

/** What the HTTP port authenticates, authorizes and audits with. */
export interface HttpAccess {
  authenticate: Authenticate;
  audit: AuditTrail;
  /** Failed authentications, audited and throttled per source address (shared with the other listeners); one of its own when absent. */
  authFailures?: AuthFailures;
  /** Users: an SSO user disabled since signing in is refused at the session's next request. */
  users?: UserRegistry;
  /** The tenant registry: disabled tenants refused. */
  tenants?: TenantRegistry;
  /** The web UI's login sessions; absent when the UI is off. */
  sessions?: SessionStore;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs, declared at its registration (a route without one refuses to register, see routeAccess.ts). */
    permission?: Permission | 'public';
    /** Which tenants the route acts on (see routeAccess.ts's Tenancy); required beside a permission other than public. */
    tenancy?: Tenancy;
    /** The route takes several tenants in X-Scope-OrgID (`a|b`), as Loki's reads do (see routeAccess.ts). */
    multiTenant?: boolean;
    /** The route writes its own audit record, of the kind of change it makes (users.create, silences.expire…). */
    auditedByRoute?: boolean;
    /** A POST that changes nothing (a dry run): audited as a read. */
    readOnly?: boolean;
    /** The route's path parameter that carries the credential, when its shippers put the key in the URL. */
    credentialParam?: string;
  }
  interface FastifyRequest {
    identity: Identity | undefined;
  }
}

/**
 * A change is an audit event of its own kind, named for what it changes, never
 * a generic `admin.read` of a POST: an administrative route that can change
 * something, and any PUT, PATCH or DELETE outside ingest, must write its own
 * record (or say it changes nothing), or the server does not start.
 */
function requireOwnAuditOfChanges(
  methods: string[],
  url: string,
  config: Partial<RouteAccess> & { auditedByRoute?: boolean; readOnly?: boolean },
): void {
  if (config.auditedByRoute || config.readOnly || config.permission === 'public' || config.permission === 'ingest') return;
  const changing = methods.filter(
    (method) => method !== 'GET' && method !== 'HEAD' && (config.permission === 'admin' || method !== 'POST'),
  );
  if (changing.length > 0)
    throw new Error(
      `route ${changing.join(',')} ${url} changes state but writes no audit record of its own: record an event named for the change (auditedByRoute) or mark it readOnly`,
    );
}

/** Reads are audited (who read what); ingest is not, or the trail would be as large as the logs. */
const auditedPermissions = new Set<Permission | 'public'>(['query', 'audit', 'admin']);

/**
 * The HTTP port: authentication, permissions, audit of reads, limits and
 * /ready, /metrics and the route table; each subsystem registers its routes on it.
 */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const { config, metrics } = options;
  const { authenticate, audit, users, tenants, sessions } = options.access;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request lines would double the log volume of a log server; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.ingest.max_body_bytes,
    return503OnClosing: true,
    ...(config.tls
      ? { https: { ...serverTlsOptions(config.tls), ...slowClientChecks, handshakeTimeout: config.limits.tls_handshake_timeout_ms } }
      : { http: slowClientChecks }),
  }) as unknown as FastifyInstance;

  // Receivers decode their own wire formats: hand them the raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.decorateRequest('tenant', '');
  app.decorateRequest('tenants', undefined as unknown as string[]);
  app.decorateRequest('identity', undefined);
  decorateReadPolicy(app, options.masking);

  /** Every route with its permission, tenancy and whether it takes several tenants, as registered: what GET /api/v1/admin/routes answers. */
  const routeTable: ({ method: string; url: string } & RouteAccess)[] = [];
  // Deny by default: every route gets a permission and a tenancy (and may take several tenants only if it says so) when it is registered, or the server does not start.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const access = accessOfRoute(methods.join(','), route.url, (route.config ?? {}) as Partial<RouteAccess>);
    route.config = { ...(route.config as object), ...access };
    requireOwnAuditOfChanges(methods, route.url, route.config as Partial<RouteAccess> & { auditedByRoute?: boolean; readOnly?: boolean });
    for (const method of methods) if (method !== 'HEAD') routeTable.push({ method, url: route.url, ...access });
  });

  const authFailures =
    options.access.authFailures ?? new AuthFailures(new LoginThrottle(config.limits), audit, options.logger, config.limits);

  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config?.permission ?? 'admin';
    if (permission === 'public') return;
    // A credential from an address that failed too often is refused unchecked (429): guessing stops there.
    // Session cookies and client certificates are no guess, and requests without a credential try nothing.
    // A key in the path (Datadog's /v1/input/<key>) is a presented credential too: guesses there are throttled alike.
    const fromPath = pathToken(request.params, request.routeOptions.config?.credentialParam);
    const presents = request.headers.authorization !== undefined || request.headers['dd-api-key'] !== undefined || fromPath !== undefined;
    if (presents) await authFailures.check(request.ip);
    let identity: Identity;
    try {
      const token = presentedToken(request.headers) ?? fromPath;
      // A browser's session cookie counts only when no token was presented.
      const session = token === undefined && sessions ? await sessionOfRequest(sessions, request.method, request.headers) : undefined;
      const certified =
        token === undefined && !session ? clientCertificateIdentity(request.raw.socket as TLSSocket, config.tls) : undefined;
      identity = session?.identity ?? certified ?? (await authenticate(token));
      // An SSO user disabled since signing in is refused at the session's next request.
      if (session && users) users.refuseDisabled(identity);
    } catch (error) {
      const failure = {
        action: 'auth.failure',
        target: `${request.method} ${request.routeOptions.url ?? scrubUrl(request.url)}`,
        detail: { reason: (error as Error).message },
      };
      // Only a presented credential that was wrong counts against the address (not a missing one, nor an expired session).
      if (presents && (error as MeshlogError).code === 'ML_AUTH_INVALID') await authFailures.failed(request.ip, failure);
      else await audit.record({ ...failure, outcome: 'denied', remoteAddress: request.ip });
      throw error;
    }
    request.identity = identity;
    try {
      requirePermission(identity, permission);
      request.tenants = tenantsOfRequest(
        identity,
        tenantHeaderOf(request.method, request.headers, request.query),
        request.routeOptions.config?.multiTenant === true,
      );
      request.tenant = request.tenants.join('|');
      if (request.routeOptions.config?.tenancy === 'all') requireAllTenants(identity);
    } catch (error) {
      await audit.record({
        action: 'access.denied',
        outcome: 'denied',
        actor: identity,
        remoteAddress: request.ip,
        target: `${request.method} ${request.routeOptions.url ?? scrubUrl(request.url)}`,
        detail: { reason: (error as Error).message, tenant: tenantHeaderOf(request.method, request.headers, request.query) },
      });
      throw error;
    }
    await audit.login(identity, request.ip);
  });

  // Who read what: every query, audit and admin request, with its outcome.
  app.addHook('onResponse', async (request, reply) => {
    const permission = request.routeOptions.config?.permission ?? 'admin';
    // /metrics is operational telemetry scraped every few seconds, not a read of anyone's data.
    if (
      !request.identity ||
      !auditedPermissions.has(permission) ||
      request.routeOptions.config?.auditedByRoute ||
      request.routeOptions.url === '/metrics'
    )
      return;
    // A multi-tenant read (`a|b`) is a read of each tenant's data: one event per tenant, so each tenant's
    // auditors and its scoped SOC 2 report see it, each naming every tenant the request read together.
    const several = request.tenants !== undefined && request.tenants.length > 1;
    const tenants = several ? request.tenants : [request.tenant];
    const detail = {
      method: request.method,
      url: scrubUrl(request.url),
      status: reply.statusCode,
      ...(several ? { tenants: request.tenants } : {}),
    };
    for (const tenant of tenants)
      await audit
        .record({
          action: permission === 'query' ? 'query' : `${permission}.read`,
          outcome: reply.statusCode < 400 ? 'success' : 'failure',
          actor: request.identity,
          remoteAddress: request.ip,
          tenant,
          target: request.routeOptions.url,
          detail,
        })
        .catch(() => undefined);
  });

  if (tenants) tenantStateHook(app, tenants);
  if (options.rateLimits) httpLimits(app, config.limits, options.rateLimits);

  // While stopping, answers close their keep-alive connection so close() can finish.
  app.addHook('onSend', async (_request, reply) => {
    if (!options.isReady()) reply.header('connection', 'close');
  });

  app.setErrorHandler(errorHandler(metrics));

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ status: 'error', errorType: 'ML_NOT_FOUND', error: `no route ${request.method} ${scrubUrl(request.url)}` }),
  );

  app.get('/ready', { config: { permission: 'public' } }, async (_request, reply) => {
    if (!options.isReady()) return reply.code(503).type('text/plain').send('starting\n');
    const problem = await options.dependencyProblem?.();
    if (problem) return reply.code(503).type('text/plain').send(`not ready: ${problem}\n`);
    // Still ready while ingest is paused: queries are served, and each refused write says why (503, Retry-After).
    const paused = options.ingestPaused?.();
    return reply.type('text/plain').send(`ready${paused ? `; ingest paused: ${paused}` : ''}\n`);
  });
  app.get('/api/v1/admin/routes', { config: { permission: 'audit', tenancy: 'none' } }, async () => ({ routes: routeTable }));
  app.get('/metrics', { config: { permission: 'audit', tenancy: 'all' } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  return app;
}
