import { MeshlogError } from '../errors.js';
import type { CompiledSql } from '../query/logql/compiler.js';
import type { SqlRunner } from '../query/logql/engine.js';
import type { Storage } from './storage.js';

// ClickHouse error codes that are the query's fault, not the server's.
const TIMEOUT_EXCEEDED = '159';
const CANNOT_COMPILE_REGEXP = '427';

/** Runs compiled read queries: parameters bound by ClickHouse, read-only, bounded in time. */
export function logQueryRunner(storage: Storage, options: { maxExecutionSeconds: number }): SqlRunner {
  return {
    async run<T>(compiled: CompiledSql): Promise<T[]> {
      try {
        // A SETTINGS clause, not clickhouse_settings: embedded chDB turns those into session-wide SETs,
        // and a session left readonly refuses every later insert.
        const result = await storage.client.query({
          query: `${compiled.sql}\nSETTINGS readonly = 2, max_execution_time = ${Number(options.maxExecutionSeconds)}`,
          query_params: compiled.params,
          format: 'JSONEachRow',
        });
        return await result.json<T>();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === TIMEOUT_EXCEEDED) throw new MeshlogError('ML_QUERY_TIMEOUT', undefined, { cause: error });
        // RE2 refuses what JavaScript accepts (lookarounds, backreferences).
        if (code === CANNOT_COMPILE_REGEXP) throw new MeshlogError('ML_QUERY_INVALID', `regular expression not supported by RE2: ${(error as Error).message.split('\n')[0]}`);
        throw error;
      }
    },
  };
}
