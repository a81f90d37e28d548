import { connect } from '../../src/storage/engine/connection.js';

/**
 * Reads a stopped meshlog's data directory with embedded chDB, the same
 * engine the server writes with: tests check what was really committed.
 * `meshlog.logs` reads as what shippers sent: meshlog's own audit trail
 * (tenant `_audit`) is filtered out; read it with readAuditTrail.
 */
export async function readCommitted<T>(dataDir: string, query: string): Promise<T[]> {
  return readStored<T>(dataDir, query, 'NOT startsWith(tenant, char(95))');
}

/** The audit trail's records (tenant `_audit` of the logs table; char(95) is `_`, no quotes to escape). */
export async function readAuditTrail<T>(dataDir: string, query: string): Promise<T[]> {
  return readStored<T>(dataDir, query, 'startsWith(tenant, char(95))');
}

async function readStored<T>(dataDir: string, query: string, logsFilter: string): Promise<T[]> {
  // Encrypted at rest like the server left it, with the key file beside the directory.
  const { client } = connect({ dataDir });
  try {
    const result = await client.query({
      query,
      format: 'JSONEachRow',
      clickhouse_settings: { additional_table_filters: `{'meshlog.logs': '${logsFilter}'}` as never },
    });
    return await result.json<T>();
  } finally {
    await client.close();
  }
}

/** Runs statements against a stopped meshlog's data directory: how tests tamper with stored data. */
export async function runStatements(dataDir: string, statements: string[]): Promise<void> {
  // Encrypted at rest like the server left it, with the key file beside the directory.
  const { client } = connect({ dataDir });
  try {
    for (const statement of statements) await client.command({ query: statement, clickhouse_settings: { mutations_sync: '2' } });
  } finally {
    await client.close();
  }
}
