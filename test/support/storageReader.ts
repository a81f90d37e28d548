import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { join } from 'node:path';

/**
 * Reads a stopped meshlog's data directory with embedded chDB, the same
 * engine the server writes with: tests check what was really committed.
 */
export async function readCommitted<T>(dataDir: string, query: string): Promise<T[]> {
  const connection = createChdbConnection({ path: join(dataDir, 'clickhouse') }) as unknown as NonNullable<
    Parameters<typeof createClient>[0]
  >['connection'];
  const client = createClient({ connection });
  try {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return await result.json<T>();
  } finally {
    await client.close();
  }
}

/** Runs statements against a stopped meshlog's data directory: how tests tamper with stored data. */
export async function runStatements(dataDir: string, statements: string[]): Promise<void> {
  const connection = createChdbConnection({ path: join(dataDir, 'clickhouse') }) as unknown as NonNullable<
    Parameters<typeof createClient>[0]
  >['connection'];
  const client = createClient({ connection });
  try {
    for (const statement of statements) await client.command({ query: statement, clickhouse_settings: { mutations_sync: '2' } });
  } finally {
    await client.close();
  }
}
