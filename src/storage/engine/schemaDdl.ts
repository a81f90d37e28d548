import type { ClickHouseSettings } from '@clickhouse/client';

/**
 * The migrations' CREATE and ALTER statements for each place the schema
 * lives. Embedded chDB and a single ClickHouse server run them as written;
 * a ClickHouse cluster gets each data table as `<table>_local`, replicated
 * on every replica of every shard, under a `Distributed` table with the
 * table's own name that reads and inserts go through (so every query of
 * meshlog is the same on all three).
 */
export type DdlTarget = { kind: 'embedded' } | { kind: 'server' } | { kind: 'cluster'; cluster: string };

/** The target of a deployment: a cluster name needs a server (config refuses it otherwise). */
export function ddlTarget(options: { clickhouseUrl?: string; clickhouseCluster?: string }): DdlTarget {
  if (options.clickhouseUrl === undefined) return { kind: 'embedded' };
  return options.clickhouseCluster === undefined ? { kind: 'server' } : { kind: 'cluster', cluster: options.clickhouseCluster };
}

/** The local (replicated) table under a Distributed table of a cluster. */
export const localTable = (table: string): string => `${table}_local`;

/**
 * Which shard a row of each table goes to. A chain's rows and seals stay on
 * one shard (a batch is one insert block there, which its deduplication token
 * names); a trace's spans stay together; every version of a Replacing table's
 * key lands on the same shard, so the latest version is found there.
 */
const shardingKeys: Record<string, string> = {
  logs: 'cityHash64(chain_id)',
  seal_batches: 'cityHash64(chain_id)',
  seal_checkpoints: 'cityHash64(chain_id)',
  seal_events: 'cityHash64(chain_id)',
  spans: 'cityHash64(trace_id)',
};

/** How long ON CLUSTER DDL waits for every host to run it (seconds), and fails rather than returning early. */
export const clusterDdlSettings: ClickHouseSettings = { distributed_ddl_task_timeout: '600', distributed_ddl_output_mode: 'throw' };

const createPattern =
  /^(\s*CREATE TABLE IF NOT EXISTS \{db\}\.)(\w+)(\s*\()([\s\S]*\n\s*ENGINE = )(\w*MergeTree)(?:\(([^)]*)\))?([\s\S]*)$/;
const orderByPattern = /\bORDER BY (.+)/;
const alterPattern = /^(\s*ALTER TABLE \{db\}\.)(\w+)( [\s\S]*)$/;
/** Column changes apply to the Distributed table too (its columns are its own); indexes, projections, settings and mutations only to the data. */
const columnChange = /^ (ADD|MODIFY|DROP|RENAME|COMMENT) COLUMN /;
const dataOnlyChange = /^ (MATERIALIZE COLUMN|(ADD|DROP|MATERIALIZE|CLEAR) (INDEX|PROJECTION)|MODIFY (SETTING|TTL)) /;

/**
 * One migration statement (`{db}` still in it) for a target: one statement,
 * or for a cluster the statements that do its work there. A statement of a
 * kind this does not know is refused, so a new migration is rendered
 * deliberately rather than run on one host of a cluster.
 */
export function renderStatement(statement: string, target: DdlTarget): string[] {
  if (target.kind !== 'cluster') return [statement];
  const onCluster = ` ON CLUSTER '${target.cluster}'`;
  const create = createPattern.exec(statement);
  if (create) {
    const [, head, table, open, columns, engine, engineArgs, rest] = create;
    const local = localTable(table);
    const replicationArgs = [`'/clickhouse/tables/{shard}/{db}/${local}'`, `'{replica}'`, ...(engineArgs ? [engineArgs] : [])];
    const sharding = shardingKeys[table] ?? (engine === 'MergeTree' ? 'rand()' : `cityHash64(${orderByPattern.exec(rest)![1].trim()})`);
    return [
      `${head}${local}${onCluster}${open}${columns}Replicated${engine}(${replicationArgs.join(', ')})${rest}`,
      `CREATE TABLE IF NOT EXISTS {db}.${table}${onCluster} AS {db}.${local}
      ENGINE = Distributed('${target.cluster}', '{db}', '${local}', ${sharding})`,
    ];
  }
  const alter = alterPattern.exec(statement);
  if (alter) {
    const [, head, table, change] = alter;
    if (columnChange.test(change)) return [`${head}${localTable(table)}${onCluster}${change}`, `${head}${table}${onCluster}${change}`];
    if (dataOnlyChange.test(change)) return [`${head}${localTable(table)}${onCluster}${change}`];
  }
  throw new Error(`no cluster form for this migration statement: ${statement.trim().slice(0, 120)}`);
}

/** Every statement of a migration for a target, `{db}` replaced by the database (an identifier validated by config). */
export function renderMigration(statements: string[], target: DdlTarget, database: string): string[] {
  return statements.flatMap((statement) => renderStatement(statement, target)).map((sql) => sql.replaceAll('{db}', database));
}

/** The database itself. */
export function createDatabase(target: DdlTarget, database: string): string {
  return target.kind === 'cluster'
    ? `CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER '${target.cluster}'`
    : `CREATE DATABASE IF NOT EXISTS ${database}`;
}
