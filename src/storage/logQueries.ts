import type { CompiledSql } from '../query/logql/compiler.js';
import type { SqlRunner } from '../query/logql/engine.js';
import type { Storage } from './storage.js';

/** Runs compiled read queries: parameters bound by ClickHouse, read-only, bounded in time. */
export function logQueryRunner(storage: Storage, options: { maxExecutionSeconds: number }): SqlRunner {
  return {
    async run<T>(compiled: CompiledSql): Promise<T[]> {
      const result = await storage.client.query({
        query: compiled.sql,
        query_params: compiled.params,
        format: 'JSONEachRow',
        clickhouse_settings: { readonly: '2', max_execution_time: options.maxExecutionSeconds },
      });
      return result.json<T>();
    },
  };
}
