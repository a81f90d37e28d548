import { sign, type KeyObject } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { accessReviewSection } from './accessReviewConfig.js';
import { accessReviewRoutes } from './accessReviewRoutes.js';
import { AccessReviews, type AccessReviewDeps } from './accessReviews.js';
import type { TenantRegistry } from './tenantRegistry.js';

/**
 * Periodic user-access reviews (the `access_review` section): the reviews,
 * their routes, and with `auto_start` the timer that starts each period's
 * reviews once the server takes requests.
 */
export function accessReviewSubsystem(
  config: z.output<typeof accessReviewSection>,
  deps: Omit<AccessReviewDeps, 'config' | 'sign' | 'registeredTenants'> & {
    /** meshlog's Ed25519 signing key (the integrity subsystem's signer): sign-offs are signed with it. */
    signingKey: { verifierKey: string; privateKey: KeyObject };
    tenants: TenantRegistry;
    logger: Logger;
  },
) {
  const { signingKey, tenants } = deps;
  const reviews = new AccessReviews({
    ...deps,
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
