import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultMasterKeyFile, MasterKey, masterKeyEnvironmentVariable } from '../archive/masterKey.js';
import { backupMeshlog } from '../backup/backup.js';
import { backupManifestFile } from '../backup/backupManifest.js';
import { defaultDeletionLedgerFile } from '../retention/deletionLedger.js';
import { backupReader, checkFreshDataDir, openBackup, restoreMeshlog } from '../backup/restore.js';
import type { Finding } from '../integrity/verifier.js';
import { sealJournalDir, SealJournal } from '../storage/logs/sealJournal.js';
import { SealStore } from '../storage/logs/sealStore.js';
import { hashBatchContent } from '../integrity/batchSeal.js';
import { Storage } from '../storage/engine/storage.js';
import { callServer, type ServerFlags } from './serverClient.js';
import { progress, withProgress } from './progress.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

/**
 * `meshlog backup`: from a data directory no server holds (embedded chDB takes
 * one process per directory), or, with --server, from a running server.
 */
export async function backupCommand(flags: {
  dataDir?: string;
  database: string;
  out?: string;
  server?: string;
  token?: string;
  name?: string;
  includeSecrets?: boolean;
  encrypt: boolean;
  masterKey?: string;
}): Promise<void> {
  if (flags.server) return liveBackupCommand({ server: flags.server, token: flags.token, name: flags.name });
  if (!flags.dataDir || !flags.out) throw new Error('pass --data-dir and --out (a stopped meshlog), or --server (a running one)');
  // The archive master key (created beside the data directory on first use, as a server's first export does).
  const masterKey = flags.encrypt
    ? MasterKey.load({ file: flags.masterKey ?? defaultMasterKeyFile(flags.dataDir), dataDir: flags.dataDir, create: true })
    : undefined;
  const storage = await Storage.open({ dataDir: flags.dataDir, database: flags.database }, pino({ level: 'warn' }));
  try {
    // Seals a killed server journaled but had not moved into the table yet.
    await new SealStore(storage, { journal: new SealJournal(sealJournalDir(flags.dataDir)), hashContent: hashBatchContent }).flush();
    const manifest = await withProgress(
      `backup ${flags.dataDir}`,
      (shown) =>
        backupMeshlog(storage, {
          dataDir: flags.dataDir!,
          out: flags.out!,
          includeSecrets: flags.includeSecrets ?? false,
          masterKey,
          onProgress: (step) => shown.update(step),
        }),
      (done) => `${done.tables.length} tables, ${done.tables.reduce((sum, table) => sum + table.rows, 0)} rows in ${flags.out}`,
    );
    const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
    print(
      `backup of ${manifest.source}: ${manifest.tables.length} tables, ${rows} rows, schema ${manifest.migrations.at(-1) ?? 0}, ` +
        `${manifest.keys.archive_key_ring.length} archive key(s), ${manifest.keys.signing_key ? 'WITH the private signing key' : 'without secret keys'}, ` +
        `${masterKey ? `encrypted under archive master key ${masterKey.id} (${masterKey.source})` : 'NOT ENCRYPTED'}, in ${flags.out}`,
    );
  } finally {
    await storage.close();
  }
}

async function liveBackupCommand(flags: ServerFlags & { name?: string }): Promise<void> {
  const { backup } = await withProgress(
    `backup of ${flags.server}`,
    async (shown) => {
      shown.update('the server is copying every table');
      return callServer<{
        backup: {
          path: string;
          tables: number;
          rows: number;
          cut: { at: string; chains: Record<string, number> };
          held_commits_ms: number;
          master_key_id: string;
        };
      }>(flags, 'POST', '/api/v1/admin/backups', flags.name ? { name: flags.name } : {});
    },
    (done) => `${done.backup.tables} tables, ${done.backup.rows} rows in ${done.backup.path} on the server host`,
  );
  print(
    `backup of the running server at ${flags.server}: ${backup.tables} tables, ${backup.rows} rows, cut at ${backup.cut.at} ` +
      `(${Object.keys(backup.cut.chains).length} chain(s), commits held ${backup.held_commits_ms} ms), encrypted under archive master key ${backup.master_key_id}, in ${backup.path} on the server host`,
  );
}

const describe = (finding: Finding) =>
  `${finding.kind.toUpperCase()} chain=${finding.chain}${finding.batchSeq !== undefined ? ` batch=${finding.batchSeq}` : ''}: ${finding.detail}`;

/** Tells the production server of a restore test (POST /api/v1/admin/backups/restore-tests, admin). */
async function reportRestoreTest(server: ServerFlags, test: Record<string, unknown>): Promise<void> {
  const { recorded } = await callServer<{ recorded: { passed: boolean } }>(server, 'POST', '/api/v1/admin/backups/restore-tests', test);
  print(
    `restore test recorded at ${server.server} (${recorded.passed ? 'passed' : 'FAILED'}): it is evidence in that server's SOC 2 report (availability)`,
  );
}

/**
 * `meshlog restore`: into a new data directory, then verification of what was
 * restored. Exit 0 verified clean, 1 on findings. With --report-to, the
 * result is recorded as a restore test in the production server's audit
 * trail (its report's availability section), even when it failed.
 */
export async function restoreCommand(flags: {
  from: string;
  dataDir: string;
  database: string;
  publicKey?: string;
  masterKey?: string;
  ledger: string | boolean;
  reportTo?: string;
  token?: string;
}): Promise<void> {
  const manifest = openBackup(flags.from);
  checkFreshDataDir(flags.dataDir);
  // Without the ledger, whatever was erased or disposed of after the backup would come back: only on request.
  const ledgerFile =
    flags.ledger === false ? undefined : typeof flags.ledger === 'string' ? flags.ledger : defaultDeletionLedgerFile(manifest.source);
  if (ledgerFile && !existsSync(ledgerFile)) {
    throw new Error(
      `no deletion ledger at ${ledgerFile}: pass --ledger FILE (the ledger of the meshlog this backup came from), or --no-ledger to restore without re-applying erasures and disposals done after the backup`,
    );
  }
  const masterKeyFile = flags.masterKey ?? defaultMasterKeyFile(manifest.source);
  const masterKey =
    manifest.encryption && (process.env[masterKeyEnvironmentVariable] || existsSync(masterKeyFile))
      ? MasterKey.load({ file: masterKeyFile, create: false })
      : undefined;
  const read = backupReader(flags.from, manifest, masterKey);
  const pinned = flags.publicKey && existsSync(flags.publicKey) ? readFileSync(flags.publicKey, 'utf8').trim() : flags.publicKey;
  const storage = await Storage.open({ dataDir: flags.dataDir, database: flags.database }, pino({ level: 'warn' }));
  try {
    const shown = progress(`restore into ${flags.dataDir}`);
    const result = await restoreMeshlog(storage, manifest, {
      dataDir: flags.dataDir,
      read,
      verifierKey: pinned,
      ledgerFile,
      onProgress: (step) => shown.update(step),
      onFinding: (finding) => {
        shown.clear();
        print(describe(finding));
      },
    }).catch((error: unknown) => {
      shown.fail();
      throw error;
    });
    shown.done(
      `${result.rows} rows into ${result.tables} tables${result.verification ? `, verified ${result.verification.ok ? 'OK' : 'with findings'}` : ''}`,
    );
    print(
      `restored ${result.rows} rows into ${result.tables} tables of ${flags.dataDir} (backup of ${manifest.source} taken ${manifest.created_at})`,
    );
    const reapplied = result.reapplied;
    print(
      reapplied
        ? `deletion ledger: ${reapplied.erasures.length} erasure(s)${reapplied.erasures.length > 0 ? ` (${reapplied.erasures.join(', ')})` : ''} and ${reapplied.disposals} disposal(s) re-applied: ` +
            `${reapplied.records} records, ${reapplied.spans} spans, ${reapplied.patterns} templates taken out again`
        : 'deletion ledger: NOT USED (--no-ledger): anything erased or disposed of after the backup was taken is back',
    );
    if (result.shreddedSince.length > 0) print(`archive keys shredded since the backup stay shredded: ${result.shreddedSince.join(', ')}`);
    if (!result.signingKeyRestored)
      print(
        `note: the backup holds no private signing key; put the old one at ${flags.dataDir.replace(/\/$/, '')}-signing.key before starting a server here, or new checkpoints get a new key`,
      );
    const report = result.verification;
    if (flags.reportTo) {
      await reportRestoreTest(
        { server: flags.reportTo, token: flags.token },
        {
          backup: {
            manifest_sha256: createHash('sha256')
              .update(readFileSync(join(flags.from, backupManifestFile)))
              .digest('hex'),
            source: manifest.source,
            created_at: manifest.created_at,
            cut_at: manifest.cut?.at ?? null,
          },
          restored_at: new Date().toISOString(),
          restored_by: userInfo().username,
          host: hostname(),
          tables: result.tables,
          rows: result.rows,
          verification: report
            ? {
                ok: report.ok,
                chains: report.chains,
                batches: report.batches,
                records: report.records,
                checkpoints: report.checkpoints,
                findings: report.findings.length,
              }
            : null,
        },
      );
    }
    if (!report) {
      print('verification: NOT RUN — the backup has no verifier key (pass --public-key)');
      process.exitCode = 1;
      return;
    }
    const explained = Object.entries(report.explained)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    print(
      `verification: ${report.ok ? 'OK' : `FAILED: ${report.findings.length} finding(s)`} — ${report.chains} chain(s), ${report.batches} batches, ` +
        `${report.records} records, ${report.checkpoints} checkpoints checked in ${report.elapsedMs} ms${explained ? ` (${explained})` : ''}`,
    );
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await storage.close();
  }
}
