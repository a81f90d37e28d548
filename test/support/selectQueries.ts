import type { Storage } from '../../src/storage/engine/storage.js';

/** ClickHouse's count of SELECT queries run since it started (reading it is one more). */
export const selectQueries = async (storage: Storage) =>
  Number(
    (await storage.rows<{ value: string }>(`SELECT toString(value) AS value FROM system.events WHERE event = 'SelectQuery'`))[0]?.value ??
      0,
  );

/** How many SELECT queries ClickHouse ran while `work` ran (ClickHouse's own counter, less what reading it costs). */
export async function selectQueriesRun(storage: Storage, work: () => Promise<void>): Promise<number> {
  const first = await selectQueries(storage);
  const reading = (await selectQueries(storage)) - first;
  const before = await selectQueries(storage);
  await work();
  return (await selectQueries(storage)) - before - reading;
}
