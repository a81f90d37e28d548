import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { migrations, schemaMigrationsTable } from '../../../src/storage/engine/migrations.js';
import { clusterDdlSettings, createDatabase, ddlTarget, renderMigration, renderStatement } from '../../../src/storage/engine/schemaDdl.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { testTempDir } from '../../support/testTempDir.js';

const cluster = { kind: 'cluster', cluster: 'logs_cluster' } as const;
const everyStatement = [schemaMigrationsTable, ...migrations.flatMap((migration) => migration.statements)];
const createdTables = everyStatement.flatMap((statement) => /CREATE TABLE IF NOT EXISTS \{db\}\.(\w+)/.exec(statement)?.[1] ?? []);

/**
 * What chDB can run of a cluster statement: no ON CLUSTER (no remote_servers),
 * the plain engine (Replicated* needs Keeper and the {shard}/{replica} macros),
 * and a Merge table over the local one standing in for the Distributed table
 * (Distributed needs a cluster; Merge, like it, has columns of its own to ALTER).
 */
function withoutCluster(sql: string): string {
  return sql
    .replaceAll(` ON CLUSTER '${cluster.cluster}'`, '')
    .replace(/Replicated(\w*MergeTree)\('\/clickhouse\/tables\/\{shard\}\/[^']+', '\{replica\}'(?:, )?/, '$1(')
    .replace(
      /ENGINE = Distributed\('\w+', '([^']+)', '(\w+)', .*\)$/,
      (_all, database: string, table: string) => `ENGINE = Merge('${database}', '^${table}$')`,
    );
}

test('the deployment decides the target: embedded without clickhouse_url, a cluster only with its name', () => {
  assert.deepEqual(ddlTarget({}), { kind: 'embedded' });
  assert.deepEqual(ddlTarget({ clickhouseUrl: 'http://ch:8123' }), { kind: 'server' });
  assert.deepEqual(ddlTarget({ clickhouseUrl: 'http://ch:8123', clickhouseCluster: 'logs_cluster' }), cluster);
});

test('embedded chDB and a single server run every migration statement byte for byte as written', () => {
  for (const target of [{ kind: 'embedded' }, { kind: 'server' }] as const) {
    for (const statement of everyStatement) assert.deepEqual(renderStatement(statement, target), [statement]);
    assert.equal(createDatabase(target, 'meshlog'), 'CREATE DATABASE IF NOT EXISTS meshlog');
  }
});

test('on a cluster every table of the schema is a Replicated table with its own keys, indexes and TTL, under a Distributed table of its name', () => {
  assert.ok(createdTables.length >= 25 && createdTables.includes('logs') && createdTables.includes('schema_migrations'));
  for (const statement of everyStatement.filter((sql) => sql.includes('CREATE TABLE'))) {
    const table = /\{db\}\.(\w+)/.exec(statement)![1];
    const rendered = renderStatement(statement, cluster);
    assert.equal(rendered.length, 2, table);
    const [local, distributed] = rendered;
    assert.ok(
      local.startsWith(statement.slice(0, statement.indexOf(`{db}.${table}`)) + `{db}.${table}_local ON CLUSTER 'logs_cluster'`),
      local,
    );
    assert.match(
      local,
      new RegExp(`ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/\\{db\\}/${table}_local', '\\{replica\\}'`),
    );
    // Everything but the name and the engine is the statement as written: columns, codecs, indexes, PARTITION, ORDER BY, TTL, SETTINGS.
    assert.equal(
      withoutCluster(local)
        .replace(`${table}_local`, table)
        .replace(/MergeTree\(\)/, 'MergeTree'),
      statement,
      table,
    );
    const engineArgs = /ENGINE = \w*MergeTree\(([^)]*)\)/.exec(statement)?.[1];
    if (engineArgs) assert.ok(local.includes(`'{replica}', ${engineArgs})`), `${table} keeps its engine's arguments`);
    assert.match(
      distributed,
      new RegExp(
        `^CREATE TABLE IF NOT EXISTS \\{db\\}\\.${table} ON CLUSTER 'logs_cluster' AS \\{db\\}\\.${table}_local\\s+ENGINE = Distributed\\('logs_cluster', '\\{db\\}', '${table}_local', .+\\)$`,
      ),
    );
  }
  // A chain's rows, and all versions of a Replacing table's key, stay on one shard.
  assert.match(renderStatement(migrations[0].statements[0], cluster)[1], /cityHash64\(chain_id\)\)$/);
  const apiKeys = migrations.find((migration) => migration.name === 'access control')!.statements[0];
  assert.match(renderStatement(apiKeys, cluster)[1], /cityHash64\(id\)\)$/);
});

test('on a cluster every ALTER runs ON CLUSTER on the data, and column changes on the Distributed table too', () => {
  const alters = everyStatement.filter((sql) => sql.trimStart().startsWith('ALTER'));
  assert.ok(alters.length >= 15);
  for (const statement of alters) {
    const table = /\{db\}\.(\w+)/.exec(statement)![1];
    const rendered = renderStatement(statement, cluster);
    assert.equal(rendered[0], statement.replace(`{db}.${table} `, `{db}.${table}_local ON CLUSTER 'logs_cluster' `));
    const columnChange = /^\s*ALTER TABLE \S+ (ADD|MODIFY|DROP|RENAME|COMMENT) COLUMN/.test(statement);
    assert.equal(rendered.length, columnChange ? 2 : 1, statement);
    if (columnChange) assert.equal(rendered[1], statement.replace(`{db}.${table} `, `{db}.${table} ON CLUSTER 'logs_cluster' `));
  }
});

test('a statement with no known cluster form is refused, never run on one host of a cluster', () => {
  for (const statement of [
    'ALTER TABLE {db}.logs DELETE WHERE 1',
    'CREATE TABLE IF NOT EXISTS {db}.t (a UInt8) ENGINE = Log',
    'RENAME TABLE {db}.logs TO {db}.old_logs',
    'CREATE MATERIALIZED VIEW {db}.v AS SELECT 1',
  ]) {
    assert.throws(() => renderStatement(statement, cluster), /no cluster form for this migration statement/);
    assert.deepEqual(renderStatement(statement, { kind: 'server' }), [statement]);
  }
});

test('cluster DDL waits for every host and fails when one does not answer in time', () => {
  assert.deepEqual(clusterDdlSettings, { distributed_ddl_task_timeout: '600', distributed_ddl_output_mode: 'throw' });
  assert.equal(createDatabase(cluster, 'meshlog'), "CREATE DATABASE IF NOT EXISTS meshlog ON CLUSTER 'logs_cluster'");
});

test('on real chDB: every cluster statement parses, and the schema it builds without replication is the embedded schema', async () => {
  const storage = await Storage.open(
    { dataDir: testTempDir('meshlog-ddl-'), database: 'meshlog', encryption: { enabled: false } },
    pino({ level: 'silent' }),
  );
  try {
    const clusterStatements = [
      createDatabase(cluster, 'clustered'),
      ...renderMigration([schemaMigrationsTable], cluster, 'clustered'),
      ...migrations.flatMap((migration) => renderMigration(migration.statements, cluster, 'clustered')),
    ];
    // The parser of ClickHouse itself, ON CLUSTER and Replicated engines included (nothing is run).
    for (const sql of clusterStatements) await storage.rows(`EXPLAIN AST ${sql}`);
    await assert.rejects(storage.rows(`EXPLAIN AST ${clusterStatements[3].replace('ON CLUSTER', 'ON CLUSTR')}`), /Syntax error/);

    const single = [createDatabase({ kind: 'server' }, 'single'), ...renderMigration(everyStatement, { kind: 'server' }, 'single')];
    for (const query of single) await storage.client.command({ query });
    for (const query of clusterStatements) await storage.client.command({ query: withoutCluster(query) });

    const shape = async (database: string, suffix: string) => {
      const tables = await storage.rows<{ name: string; sorting_key: string; partition_key: string; primary_key: string; engine: string }>(
        `SELECT replaceRegexpOne(name, {suffix:String}, '') AS name, sorting_key, partition_key, primary_key, engine
         FROM system.tables WHERE database = {database:String} AND engine LIKE '%MergeTree' ORDER BY name`,
        { database, suffix: `${suffix}$` },
      );
      const columns = await storage.rows(
        `SELECT replaceRegexpOne(table, {suffix:String}, '') AS base, name, type, default_kind, default_expression, compression_codec
         FROM system.columns WHERE database = {database:String} AND table IN (SELECT name FROM system.tables WHERE database = {database:String} AND engine LIKE '%MergeTree')
         ORDER BY base, position`,
        { database, suffix: `${suffix}$` },
      );
      const indexes = await storage.rows(
        `SELECT replaceRegexpOne(table, {suffix:String}, '') AS base, name, type_full, expr, granularity
         FROM system.data_skipping_indices WHERE database = {database:String} ORDER BY base, name`,
        { database, suffix: `${suffix}$` },
      );
      const projections = await storage.rows(
        `SELECT replaceRegexpOne(table, {suffix:String}, '') AS base, name, query
         FROM system.projections WHERE database = {database:String} ORDER BY base, name`,
        { database, suffix: `${suffix}$` },
      );
      const ttls = await storage.rows(
        `SELECT replaceRegexpOne(name, {suffix:String}, '') AS base, extract(create_table_query, 'TTL (.+?)(?: SETTINGS|$)') AS ttl
         FROM system.tables WHERE database = {database:String} AND engine LIKE '%MergeTree' ORDER BY base`,
        { database, suffix: `${suffix}$` },
      );
      return { tables, columns, indexes, projections, ttls };
    };
    const embedded = await shape('meshlog', '');
    assert.deepEqual(
      embedded.tables.map((table) => table.name),
      [...createdTables].sort(),
    );
    assert.equal(embedded.projections.length, 3, 'the three projections of logs');
    assert.ok(
      embedded.ttls.some((entry) => (entry as { ttl: string }).ttl.includes('expires_at')),
      'the TTL of ui_sessions',
    );
    assert.deepEqual(await shape('single', ''), embedded);
    assert.deepEqual(await shape('clustered', '_local'), embedded);

    // Every data table has its stand-in for the Distributed table, with the columns ALTERs gave the data.
    const standIns = await storage.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = 'clustered' AND engine = 'Merge' ORDER BY name`,
    );
    assert.deepEqual(
      standIns.map((table) => table.name),
      [...createdTables].sort(),
    );
    const columnsOf = async (table: string) =>
      (
        await storage.rows<{ name: string }>(
          `SELECT name FROM system.columns WHERE database = 'clustered' AND table = {table:String} ORDER BY position`,
          { table },
        )
      ).map((column) => column.name);
    assert.deepEqual(await columnsOf('logs'), await columnsOf('logs_local'));
    assert.ok((await columnsOf('logs')).includes('stream_seq'));
  } finally {
    await storage.close();
  }
});
