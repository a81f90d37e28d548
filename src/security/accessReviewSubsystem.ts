import { sign, type KeyObject } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { accessReviewSection } from './accessReviewConfig.js';
import { accessReviewRoutes } from './accessReviewRoutes.js';
import { AccessReviews, type AccessReviewDeps } from './accessReviews.js';
import type { SessionStore } from './sessions.js';
import type { TenantRegistry } from './tenantRegistry.js';

/**
 * Periodic user-access reviews (the `access_review` section): the reviews,
 * their routes, and with `auto_start` the timer that starts each period's
 * reviews once the server takes requests.
 */
export function accessReviewSubsystem(
  config: z.output<typeof accessReviewSection>,
  deps: {
    /** Who may do what (the access subsystem): the grants reviewed, revoked through keys and users, each step audited. */
    access: Pick<AccessReviewDeps, 'auditStore' | 'audit' | 'keys' | 'users'> & {
      tenants: TenantRegistry;
      /** The UI's sessions, absent when the UI is off: a revoked key's sessions end with it. */
      sessions: SessionStore | undefined;
    };
    /** meshlog's Ed25519 signing key (the integrity subsystem's signer): sign-offs are signed with it. */
    signingKey: { verifierKey: string; privateKey: KeyObject };
    logger: Logger;
  },
) {
  const { signingKey } = deps;
  const { auditStore, audit, keys, users, tenants, sessions } = deps.access;
  const reviews = new AccessReviews({
    auditStore,
    audit,
    keys,
    users,
    endSessionsOf: sessions && ((ids, reason) => sessions.endSessionsOf(ids, reason)),
    config,
    sign: (bytes) => ({
      algorithm: 'Ed25519',
      key: signingKey.verifierKey,
      value: sign(null, bytes, signingKey.privateKey).toString('base64'),
    }),
    registeredTenants: () =>
      tenants
        .list()
        .filter((tenant) => tenant.state === 'active')
        .map((tenant) => tenant.name),
  });
  const routes: FastifyPluginAsync = async (app) => accessReviewRoutes(app, reviews);
  let timer: NodeJS.Timeout | undefined;
  return {
    routes,
    start(): void {
      if (!config.auto_start) return;
      const startDueReviews = () =>
        reviews.startDue().catch((error: unknown) => deps.logger.error({ reason: (error as Error).message }, 'access review start failed'));
      timer = setInterval(startDueReviews, config.check_interval_ms);
      timer.unref();
      void startDueReviews();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
    },
  };
}
