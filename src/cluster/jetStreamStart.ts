import type { Logger } from 'pino';

/** How long a starting node keeps asking JetStream (a cluster starting beside it, or one that just lost a server, elects leaders first). */
const jetStreamStartMs = 60_000;

/**
 * Runs one of a starting node's JetStream set-up steps (create a stream, a
 * bucket, a consumer) again until it succeeds or a minute passed. A request
 * to JetStream times out while the servers elect leaders or when the machine
 * is busy: at start that is a reason to ask again, not to give up.
 */
export async function untilJetStreamAnswers<T>(what: string, step: () => Promise<T>, logger: Logger): Promise<T> {
  const deadline = Date.now() + jetStreamStartMs;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      logger.warn({ step: what, reason: (error as Error).message }, 'JetStream did not answer yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
