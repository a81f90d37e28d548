import { randomUUID } from 'node:crypto';
import { MeshlogError } from '../../errors.js';
import type { CompiledSql, SqlBudget, SqlRunner } from '../sql.js';
import type { Storage } from '../engine/storage.js';

// ClickHouse error codes that are the query's fault, not the server's.
const TIMEOUT_EXCEEDED = '159';
const CANNOT_COMPILE_REGEXP = '427';

/**
 * Runs compiled read queries: parameters bound by ClickHouse, read-only,
 * bounded in time. With a budget the query's `max_execution_time` is what is
 * left of its deadline, and a cancelled query is abandoned: a ClickHouse
 * server is told to KILL it; embedded chDB has no way to interrupt a running
 * statement, so its answer is dropped and the statement ends at its
 * `max_execution_time` at the latest.
 */
export function logQueryRunner(storage: Storage, options: { maxExecutionSeconds: number }): SqlRunner {
  return {
    async run<T>(compiled: CompiledSql, budget?: SqlBudget): Promise<T[]> {
      budget?.check();
      const seconds = budget
        ? Math.max(1, Math.min(options.maxExecutionSeconds, Math.ceil(budget.remainingMs() / 1000)))
        : options.maxExecutionSeconds;
      const queryId = randomUUID();
      const kill = () => {
        if (storage.embedded) return;
        void storage.client
          .command({ query: 'KILL QUERY WHERE query_id = {id:String} ASYNC', query_params: { id: queryId } })
          .catch(() => undefined);
      };
      budget?.signal.addEventListener('abort', kill, { once: true });
      try {
        // A SETTINGS clause, not clickhouse_settings: embedded chDB turns those into session-wide SETs,
        // and a session left readonly refuses every later insert.
        const result = await storage.client.query({
          query: `${compiled.sql}\nSETTINGS readonly = 2, max_execution_time = ${Number(seconds)}`,
          query_params: compiled.params,
          format: 'JSONEachRow',
          query_id: queryId,
          abort_signal: budget?.signal,
        });
        if (!budget) return await result.json<T>();
        // Rows decoded a chunk at a time, the event loop turning between slices.
        const rows: T[] = [];
        for await (const chunk of result.stream<T>()) {
          for (const row of chunk) {
            rows.push(row.json());
            if (budget.due()) await budget.yield();
          }
        }
        return rows;
      } catch (error) {
        if (budget?.signal.aborted) throw budget.signal.reason as MeshlogError;
        const code = (error as { code?: string }).code;
        if (code === TIMEOUT_EXCEEDED) throw new MeshlogError('ML_QUERY_TIMEOUT', undefined, { cause: error });
        // RE2 refuses what the LogQL parser let through.
        if (code === CANNOT_COMPILE_REGEXP)
          throw new MeshlogError('ML_QUERY_INVALID', `regular expression not supported by RE2: ${(error as Error).message.split('\n')[0]}`);
        throw error;
      } finally {
        budget?.signal.removeEventListener('abort', kill);
      }
    },
  };
}
