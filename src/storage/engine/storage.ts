import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { compactLogColumns } from './logColumns.js';
import { jsonEachRow, type InsertFormat } from './insertFormat.js';
import { checkStorageKeys, connect, type ConnectionTarget, type EncryptionAtRest, type RawInsert } from './connection.js';
import { findBrokenParts, outdatedPartsLifetimeSeconds, rowsInBlockRange, type RepairedPart } from './brokenParts.js';
import { DiskSpaceGuard } from './diskSpace.js';
import { EngineGate } from './engineGate.js';
import { noSpillStatement } from './encryptedDisk.js';
import { migrations, schemaMigrationsTable } from './migrations.js';
import { clusterDdlSettings, createDatabase, ddlTarget, renderMigration, type DdlTarget } from './schemaDdl.js';
import { RetainedBatches, type ReinsertedBatch } from './retainedBatches.js';
import { storageError } from './storageError.js';
import { deduplicationWindow } from './insertDeduplication.js';

/**
 * Engine calls that write new data to disk: inserts, and statements that
 * insert or rewrite parts. Dropping, deleting and reads free or need no space.
 */
function writes(method: PropertyKey, params: unknown): boolean {
  if (method === 'insert' || method === 'exec') return true;
  if (method !== 'command') return false;
  const query = (params as { query?: unknown } | undefined)?.query;
  return typeof query === 'string' && /^\s*(INSERT|OPTIMIZE)\b/i.test(query);
}

/** Hears of every repair: the broken parts set aside, and the retained batches whose lost rows went in again. */
export type PartRepairListener = (parts: RepairedPart[], reinserted: ReinsertedBatch[]) => void;

/**
 * The only door to ClickHouse. Every other module goes through this object,
 * whether the engine is embedded chDB or a ClickHouse server.
 */
/** The writer's lines: see compactLogRow.ts. */
const compactLogFormat: InsertFormat = { name: 'JSONCompactEachRow', columns: compactLogColumns };

export class Storage {
  /** Embedded chDB's encryption at rest (undefined for a ClickHouse server, which encrypts by its own config). */
  encryptionAtRest: EncryptionAtRest | undefined;
  /** Every engine call, through the gate that lets the engine be reopened under them. */
  readonly client: ClickHouseClient;
  private current: ClickHouseClient;
  private readonly gate = new EngineGate();
  /** Embedded chDB with `minFreeDiskBytes`: writes refused before the data disk fills (see DiskSpaceGuard). */
  diskGuard: DiskSpaceGuard | undefined;
  private partWatch: { timer: NodeJS.Timeout; running: Promise<void> } | undefined;
  private partRepairListener: PartRepairListener | undefined;
  private repairing: Promise<unknown> = Promise.resolve();
  /** Embedded chDB: acknowledged inserts held until a look shows their parts readable (see RetainedBatches). */
  readonly retained: RetainedBatches | undefined;
  /** Rows a repair found gone whose insert again failed (the disk still full): tried again at every look. */
  private reinsertsDue: { table: string; body: Buffer; format: InsertFormat; batch: ReinsertedBatch }[] = [];
  /** Tables that lost a broken part, whose retained batches are still to be checked for rows gone. */
  private readonly checksDue = new Set<string>();

  private constructor(
    client: ClickHouseClient,
    readonly database: string,
    readonly embedded: boolean,
    private readonly logger: Logger,
    private currentRawInsert: RawInsert | undefined,
    private readonly target: ConnectionTarget,
    /** Where the schema lives: embedded, one server, or a cluster (see schemaDdl.ts). */
    readonly ddlTarget: DdlTarget,
  ) {
    this.current = client;
    if (embedded) this.retained = new RetainedBatches();
    // Methods resolve on the current client at call time, inside the gate.
    this.client = new Proxy({} as ClickHouseClient, {
      get: (_target, property) => {
        const value = (this.current as unknown as Record<PropertyKey, unknown>)[property];
        if (typeof value !== 'function') return value;
        // Every failure leaves storage classified (outage or refusal): see storageError.ts.
        return (...args: unknown[]) => {
          const refusal = this.diskGuard && writes(property, args[0]) ? this.diskRefusal() : undefined;
          if (refusal) return Promise.reject(refusal);
          return this.gate
            .run(() => (this.current as unknown as Record<PropertyKey, (...a: unknown[]) => Promise<unknown>>)[property]!(...args))
            .catch((error: unknown) => {
              throw storageError(error);
            });
        };
      },
    });
  }

  private get rawInsert(): RawInsert | undefined {
    const insert = this.currentRawInsert;
    return (
      insert &&
      ((table, body, settings, format) =>
        this.gate
          .run(() => this.currentRawInsert!(table, body, settings, format))
          .catch((error: unknown) => {
            throw storageError(error);
          }))
    );
  }

  /** The error a write gets while the data disk is below the internal floor. */
  private diskRefusal(): Error | undefined {
    try {
      this.diskGuard?.check('internal');
      return undefined;
    } catch (error) {
      return error as Error;
    }
  }

  static async open(target: ConnectionTarget & { database: string; minFreeDiskBytes?: number }, logger: Logger): Promise<Storage> {
    const { client, embedded, encryption, rawInsert } = connect(target);
    const storage = new Storage(client, target.database, embedded, logger, rawInsert, target, ddlTarget(target));
    if (embedded && target.minFreeDiskBytes) storage.diskGuard = new DiskSpaceGuard(target.dataDir, target.minFreeDiskBytes);
    storage.encryptionAtRest = encryption;
    // Session-wide in embedded chDB: every later query of this client runs without disk spills.
    if (encryption?.enabled) await client.command({ query: noSpillStatement });
    await storage.ddl(createDatabase(storage.ddlTarget, target.database));
    await storage.migrate();
    return storage;
  }

  private async migrate(): Promise<void> {
    const db = this.database;
    for (const query of renderMigration([schemaMigrationsTable], this.ddlTarget, db)) await this.ddl(query);
    const applied = new Set(
      (await this.rows<{ version: number }>(`SELECT version FROM ${db}.schema_migrations`)).map((row) => Number(row.version)),
    );
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      for (const query of renderMigration(migration.statements, this.ddlTarget, db)) await this.ddl(query);
      await this.client.insert({
        table: `${db}.schema_migrations`,
        values: [{ version: migration.version, name: migration.name }],
        format: 'JSONEachRow',
      });
      this.logger.info({ version: migration.version, name: migration.name }, 'applied schema migration');
    }
    if (this.embedded) await this.keepOutdatedParts();
    if (this.ddlTarget.kind !== 'cluster') await this.deduplicateLogInserts(this.deduplicatesInserts);
  }

  /** Whether log inserts carry a deduplication token: only over the network (see insertDeduplication.ts). */
  get deduplicatesInserts(): boolean {
    return !this.embedded;
  }

  /**
   * A plain MergeTree honours insert_deduplication_token only with a deduplication window (Replicated tables
   * have theirs); embedded, the window is taken off again (a store of an earlier version has it), since with
   * it every insert also hashes its rows and records the hash.
   */
  private async deduplicateLogInserts(on: boolean): Promise<void> {
    const [table] = await this.rows<{ window: string }>(
      `SELECT extract(create_table_query, 'non_replicated_deduplication_window = ([0-9]+)') AS window
       FROM system.tables WHERE database = {db:String} AND name = 'logs'`,
      { db: this.database },
    );
    const window = Number(table?.window || 0);
    if (on ? window === deduplicationWindow : window === 0) return;
    await this.client.command({
      query: on
        ? `ALTER TABLE ${this.database}.logs MODIFY SETTING non_replicated_deduplication_window = ${deduplicationWindow}`
        : `ALTER TABLE ${this.database}.logs RESET SETTING non_replicated_deduplication_window`,
    });
  }

  /** A schema statement; on a cluster, it returns once every host ran it (or fails: see clusterDdlSettings). */
  private async ddl(query: string): Promise<void> {
    const settings = this.ddlTarget.kind === 'cluster' ? clusterDdlSettings : undefined;
    await this.client.command({ query, clickhouse_settings: settings });
  }

  /** Every MergeTree table keeps the parts a merge covered for a while (see outdatedPartsLifetimeSeconds). */
  private async keepOutdatedParts(): Promise<void> {
    const tables = await this.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'
         AND NOT match(create_table_query, {setting:String})`,
      { db: this.database, setting: `old_parts_lifetime = ${outdatedPartsLifetimeSeconds}\\b` },
    );
    for (const { name } of tables) {
      await this.client.command({
        query: `ALTER TABLE ${this.database}.\`${name}\` MODIFY SETTING old_parts_lifetime = ${outdatedPartsLifetimeSeconds}`,
      });
    }
  }

  /**
   * Embedded chDB only: every `intervalMs`, looks for parts written since
   * the last look that the engine cannot read (findBrokenParts), and repairs
   * them (repairBrokenParts); `onRepair` hears of every repair. With a disk
   * guard it looks only while the data disk is below the ingest floor and
   * once more after (only a full disk leaves such parts), so a healthy server
   * sends the engine no extra queries.
   */
  watchParts(onRepair: PartRepairListener, options: { intervalMs?: number; everyLook?: boolean } = {}): void {
    this.partRepairListener = onRepair;
    if (!this.embedded || this.partWatch) return;
    const guard = options.everyLook ? undefined : this.diskGuard;
    // modification_time has whole seconds: a part written during the last look is looked at again.
    let since = Date.now() / 1000 - 5;
    // While the disk is low, every look goes back to the start of the episode (a part must stay readable, not only be so once).
    let lowSince: number | undefined;
    const look = async () => {
      const started = Date.now();
      const lowSeen = guard !== undefined && guard.lowSeenSince(since * 1000);
      const diskLow = guard !== undefined && guard.freeBytes() < guard.floor('ingest');
      if (guard && !diskLow && !lowSeen && lowSince === undefined) {
        // No write since the last look met a low disk: the parts they wrote are as they were acknowledged.
        since = started / 1000;
        this.retained?.releaseBefore(started - 1000);
        return;
      }
      if (lowSeen || diskLow) lowSince ??= since;
      const clean = await this.repairBrokenParts((lowSince ?? since) - 2);
      since = started / 1000;
      if (diskLow) return;
      lowSince = undefined;
      if (clean && this.reinsertsDue.length === 0 && this.checksDue.size === 0) this.retained?.releaseBefore(started - 1000);
    };
    const watch = {
      running: Promise.resolve(),
      timer: setInterval(() => {
        watch.running = watch.running.then(look).catch((error: unknown) => {
          this.logger.warn({ reason: (error as Error).message }, 'could not check recent storage parts; trying again');
        });
      }, options.intervalMs ?? 2000).unref(),
    };
    this.partWatch = watch;
  }

  /**
   * Parts written since `sinceSeconds` that the engine cannot read make it
   * reopen: it sets them aside (detached, `broken-on-start_`) and brings back
   * the parts they covered. One repair at a time.
   */
  private repairBrokenParts(sinceSeconds: number): Promise<boolean> {
    const run = this.repairing.then(async () => {
      const rows = <T>(query: string, params: Record<string, unknown>) => this.rows<T>(query, params);
      const reinserted = await this.insertAgain();
      const broken = await findBrokenParts(rows, this.database, sinceSeconds);
      if (broken.length === 0) {
        if (reinserted.length > 0) this.partRepairListener?.([], reinserted);
        return true;
      }
      this.logger.error(
        { parts: broken.map((part) => `${part.table}/${part.name}`), check: broken[0].check },
        'storage parts unreadable (written while the disk was full): reopening the engine to set them aside and restore what they covered',
      );
      await this.reopen();
      const repaired: RepairedPart[] = [];
      for (const part of broken)
        repaired.push({ ...part, restoredRows: await rowsInBlockRange(rows, this.database, part), reinsertedRows: 0 });
      for (const part of broken) this.checksDue.add(part.table);
      reinserted.push(...(await this.insertAgain()));
      // Rows inserted again are counted against the parts of their table that lost rows, in order.
      for (const part of repaired) {
        let left = reinserted.filter((batch) => batch.table === part.table).reduce((sum, batch) => sum + batch.rows, 0);
        for (const other of repaired.filter((entry) => entry.table === part.table && entry !== part)) left -= other.reinsertedRows;
        part.reinsertedRows = Math.max(0, Math.min(left, part.rows - part.restoredRows));
      }
      this.partRepairListener?.(repaired, reinserted);
      return false;
    });
    this.repairing = run.catch(() => undefined);
    return run;
  }

  /**
   * Inserts again the retained rows the tables that lost broken parts no
   * longer have; a check or an insert that fails (the disk still full) is
   * tried again at the next look.
   */
  private async insertAgain(): Promise<ReinsertedBatch[]> {
    if (this.checksDue.size > 0 && this.retained) {
      const rows = <T>(query: string, params: Record<string, unknown>) => this.rows<T>(query, params);
      this.reinsertsDue.push(...(await this.retained.takeMissing(rows, this.database, this.checksDue)));
    }
    this.checksDue.clear();
    const due = this.reinsertsDue;
    this.reinsertsDue = [];
    const done: ReinsertedBatch[] = [];
    for (const entry of due) {
      try {
        // Not refused for a low disk: these rows were acknowledged, and the engine's own floor still applies.
        await this.insertJsonLines(entry.table, entry.body, { diskChecked: true, format: entry.format });
        done.push(entry.batch);
        this.logger.warn({ ...entry.batch }, 'acknowledged rows of a broken storage part inserted again');
      } catch (error) {
        this.reinsertsDue.push(entry);
        this.logger.error(
          { ...entry.batch, reason: (error as Error).message.split('\n')[0] },
          'could not insert lost rows again yet; trying at the next look',
        );
      }
    }
    return done;
  }

  /**
   * Inserts pre-serialized JSONCompactEachRow lines of `compactLogColumns`
   * into the logs table; resolves once committed. `diskChecked`: the writer
   * checked free space before sealing the batch; a second check here could
   * refuse, in the moment between, rows whose seals are already signed,
   * leaving a checkpoint over batches never stored.
   */
  insertLogRows(compactLines: Buffer | string, options: { diskChecked?: boolean; deduplicationToken?: string } = {}): Promise<void> {
    return this.insertJsonLines('logs', compactLines, { ...options, format: compactLogFormat });
  }

  /**
   * Inserts pre-serialized JSON lines (JSONEachRow unless `format` says
   * otherwise) into a table of this database in one engine call (embedded:
   * one callback, however busy the event loop is); resolves once committed.
   */
  async insertJsonLines(
    table: string,
    jsonLines: Buffer | string,
    options: { diskChecked?: boolean; deduplicationToken?: string; format?: InsertFormat } = {},
  ): Promise<void> {
    const refusal = options.diskChecked ? undefined : this.diskRefusal();
    if (refusal) throw refusal;
    const format = options.format ?? jsonEachRow;
    // The same token again (a replayed batch) stores nothing: see insertDeduplication.ts.
    const token: Record<string, string> =
      options.deduplicationToken === undefined ? {} : { insert_deduplication_token: options.deduplicationToken };
    if (this.rawInsert) {
      const body = typeof jsonLines === 'string' ? Buffer.from(jsonLines) : jsonLines;
      await this.rawInsert(`${this.database}.${table}`, body, { max_partitions_per_insert_block: 0, async_insert: 0, ...token }, format);
      this.retained?.keep(table, body, format);
      return;
    }
    const columns = format.name === 'JSONCompactEachRow' ? ` (${format.columns.join(', ')})` : '';
    try {
      const result = await this.client.exec({
        query: `INSERT INTO ${this.database}.${table}${columns} FORMAT ${format.name}`,
        values: Readable.from([jsonLines]),
        clickhouse_settings: { max_partitions_per_insert_block: '0', async_insert: 0, ...token },
      });
      result.stream.resume();
      this.retained?.keep(table, jsonLines, format);
    } catch (error) {
      throw storageError(error);
    }
  }

  /** Highest committed batch sequence of every integrity chain. */
  async chainHeads(): Promise<Map<string, number>> {
    const rows = await this.rows<{ chain_id: string; head: string }>(
      `SELECT chain_id, toString(max(batch_seq)) AS head FROM ${this.database}.logs GROUP BY chain_id`,
    );
    return new Map(rows.map((row) => [row.chain_id, Number(row.head)]));
  }

  /** Runs a parameterized query ({name:Type} placeholders) and returns its rows. */
  async rows<T>(query: string, params?: Record<string, unknown>, settings?: ClickHouseSettings): Promise<T[]> {
    try {
      const result = await this.client.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: settings });
      return await result.json<T>();
    } catch (error) {
      throw storageError(error);
    }
  }

  /**
   * Reopens the embedded encrypted engine with the key file as it is now
   * (chDB reads encrypted-disk keys only when its engine starts; clickhouse-local
   * refuses SYSTEM RELOAD CONFIG): calls in flight finish, new ones wait, and
   * continue on the engine that writes new parts with the current key. The
   * keys are checked before the running engine is closed. Undefined when
   * the current key is the one already in use (nothing to reopen).
   */
  async reloadStorageKeys(): Promise<EncryptionAtRest | undefined> {
    if (!this.encryptionAtRest?.enabled) throw new Error('storage keys apply only to embedded chDB with encryption at rest');
    const keys = checkStorageKeys(this.target);
    if (keys.currentId === this.encryptionAtRest.currentKeyId) return undefined;
    await this.reopen();
    const reopened = this.encryptionAtRest!;
    this.logger.info(
      { currentKeyId: reopened.currentKeyId, newKeyIds: reopened.newKeyIds },
      'storage engine reopened with the current storage keys',
    );
    return reopened;
  }

  /** Closes and starts the embedded engine again: calls in flight finish, new ones wait and continue on the new engine. */
  private reopen(): Promise<void> {
    return this.gate.exclusive(async () => {
      await this.current.close();
      const reopened = connect(this.target);
      this.current = reopened.client;
      this.currentRawInsert = reopened.rawInsert;
      this.encryptionAtRest = reopened.encryption;
      if (reopened.encryption?.enabled) await this.current.command({ query: noSpillStatement });
    });
  }

  async close(): Promise<void> {
    if (this.partWatch) {
      clearInterval(this.partWatch.timer);
      await this.partWatch.running;
      // A last look at the parts of the batches still held: after close, nothing could insert them again.
      const oldest = this.retained?.oldestAt;
      if (oldest !== undefined)
        await this.repairBrokenParts(oldest / 1000 - 2).catch((error: unknown) => {
          this.logger.error({ reason: (error as Error).message }, 'could not check the last storage parts before closing');
        });
    }
    await this.client.close();
  }
}
