import { resolve } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import { registerSecret } from '../observability/credentialScrubber.js';
import { loadAdminToken } from '../security/adminToken.js';
import { ApiKeys } from '../security/apiKeys.js';
import { AuditTrail, type AuditRecordWriter } from '../security/auditTrail.js';
import { anonymousAccess, credentialAuthenticator, type Authenticate } from '../security/authenticator.js';
import { AuthFailures, LoginThrottle } from '../security/loginThrottle.js';
import { OidcLogin } from '../security/oidcLogin.js';
import { OidcVerifier } from '../security/oidcVerifier.js';
import { SessionStore } from '../security/sessions.js';
import { TenantRegistry } from '../security/tenantRegistry.js';
import { UserRegistry } from '../security/userRegistry.js';
import type { Storage } from '../storage/engine/storage.js';
import type { ReplicatedOwners } from '../cluster/replicatedKinds.js';
import { AccessStore } from '../storage/stores/accessStore.js';
import { AuditStore } from '../storage/stores/auditStore.js';
import { SessionEventStore } from '../storage/stores/sessionEventStore.js';
import { TenantStore } from '../storage/stores/tenantStore.js';
import { UserStore } from '../storage/stores/userStore.js';
import { adminRoutes } from './adminRoutes.js';
import { sessionRoutes } from './sessionRoutes.js';
import { tenantRoutes } from './tenantRoutes.js';
import { userRoutes } from './userRoutes.js';
import { webUiRoutes } from './webUiRoutes.js';

/** Where the admin token came from, for the start-up summary (never the token). */
export type AdminTokenSource = { fromEnv: true } | { fromEnv: false; file: string; generated: boolean } | undefined;

/**
 * Who may do what (`auth`, `oidc`, `ui`, `limits`): API keys (their use
 * flushed every 30 s), users, tenants, how a credential is authenticated,
 * the audit trail, the throttle of failed authentications and the UI's
 * sessions, with their admin routes, the UI login and the UI itself.
 */
export async function accessSubsystem(
  config: Pick<MeshlogConfig, 'auth' | 'data_dir' | 'oidc' | 'ui' | 'limits' | 'tls' | 'query'>,
  deps: { storage: Storage; auditWriter: AuditRecordWriter; logger: Logger },
) {
  const { storage, logger } = deps;
  const keys = await ApiKeys.open(new AccessStore(storage));
  const tenants = await TenantRegistry.open(new TenantStore(storage));
  const users = await UserRegistry.open(new UserStore(storage), keys);
  let authenticate: Authenticate;
  let adminToken: AdminTokenSource;
  if (config.auth === 'token') {
    const admin = loadAdminToken(config.data_dir);
    // The admin token is found verbatim in anything written to the audit trail or the log, wherever a client put it.
    registerSecret(admin.token);
    adminToken = admin.file ? { fromEnv: false, file: resolve(admin.file), generated: admin.generated ?? false } : { fromEnv: true };
    authenticate = credentialAuthenticator(admin.token, keys, config.oidc && new OidcVerifier(config.oidc), (identity) =>
      users.refuseDisabled(identity),
    );
    logger.info({ from: admin.source, oidc: config.oidc?.issuer ?? 'off' }, 'admin token loaded');
  } else {
    authenticate = anonymousAccess;
    logger.warn('authentication is disabled (--auth=none): anyone who can reach this server can read and write logs');
  }
  const usageTimer = setInterval(() => {
    keys.flushUsage().catch((error: unknown) => logger.error({ reason: (error as Error).message }, 'could not record key use'));
  }, 30_000);
  usageTimer.unref();
  const audit = new AuditTrail(deps.auditWriter, logger);
  // One throttle of failed authentications per source address, for every listener and the UI.
  const authFailures = new AuthFailures(new LoginThrottle(config.limits), audit, logger, config.limits);
  const sessions = config.ui.enabled
    ? new SessionStore(
        { idleTimeoutMs: config.ui.session_idle_timeout_ms, maxAgeMs: config.ui.session_max_age_ms },
        new SessionEventStore(storage),
      )
    : undefined;
  const auditStore = new AuditStore(storage);
  const oidcClientId = config.oidc?.client_id;
  const oidcLogin =
    sessions && config.auth === 'token' && config.oidc && oidcClientId
      ? new OidcLogin({ ...config.oidc, client_id: oidcClientId }, (identity) => users.refuseDisabled(identity))
      : undefined;
  const routes: FastifyPluginAsync = async (app) => {
    adminRoutes(app, { keys, audit, auditStore, sessions });
    tenantRoutes(app, { tenants, audit });
    userRoutes(app, { users, audit, sessions });
    if (!sessions) return;
    sessionRoutes(app, {
      sessions,
      authenticate,
      audit,
      secure: config.tls !== undefined,
      oidc: oidcLogin,
      maxLinesPerQuery: config.query.max_lines,
      authFailures,
    });
    webUiRoutes(app);
  };
  return {
    keys,
    tenants,
    users,
    authenticate,
    adminToken,
    audit,
    auditStore,
    authFailures,
    sessions,
    /** In a cluster: keys, users, tenants, UI sessions and failed logins, the same on every node. */
    replicated: {
      keys: keys.replica,
      users: users.replica,
      tenants: tenants.replica,
      sessions,
      loginThrottle: authFailures.throttle,
    } satisfies Partial<ReplicatedOwners>,
    routes,
    async stop(): Promise<void> {
      clearInterval(usageTimer);
      await keys.flushUsage().catch(() => undefined);
    },
  };
}
