import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { accessReviewSection } from './accessReviewConfig.js';
import { accessReviewRoutes } from './accessReviewRoutes.js';
import { AccessReviews, type AccessReviewDeps } from './accessReviews.js';

/**
 * Periodic user-access reviews (the `access_review` section): the reviews,
 * their routes, and with `auto_start` the timer that starts each period's
 * reviews once the server takes requests.
 */
export function accessReviewSubsystem(
  config: z.output<typeof accessReviewSection>,
  deps: Omit<AccessReviewDeps, 'config'> & { logger: Logger },
) {
  const reviews = new AccessReviews({ ...deps, config });
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
