import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Starts `send(i)` every `everyMs` for `forMs`, without waiting for earlier
 * sends to be answered (at most `inFlight` at once), then waits for every
 * answer and asserts each was 200. A detector that counts records per time
 * bucket then sees a steady stream even when a loaded machine makes each
 * request slow, where an await-then-sleep loop would leave buckets empty.
 * Returns how many sends were made.
 */
export async function sendSteadily(
  send: (i: number) => Promise<Response>,
  forMs: number,
  { everyMs = 50, inFlight = 8 } = {},
): Promise<number> {
  const pending = new Set<Promise<void>>();
  const failures: string[] = [];
  let sent = 0;
  for (const until = Date.now() + forMs; Date.now() < until; sent++) {
    const one: Promise<void> = send(sent).then(
      async (response) => {
        if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
      },
      (error: Error) => void failures.push(error.message),
    );
    pending.add(one);
    void one.finally(() => pending.delete(one));
    while (pending.size >= inFlight) await Promise.race(pending);
    await sleep(everyMs);
  }
  await Promise.all(pending);
  assert.deepEqual(failures, [], 'every send was accepted');
  return sent;
}
