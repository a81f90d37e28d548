import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MasterKey } from '../archive/masterKey.js';
import { backupManifestFile } from './backupManifest.js';
import { backupRunning } from './liveBackup.js';
import { MeshlogError } from '../errors.js';
import type { LogWriter } from '../ingest/writer.js';
import type { DeletionLock } from '../retention/deletionLock.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Storage } from '../storage/engine/storage.js';
import { parseJsonBody } from '../formats/jsonBody.js';

export interface BackupDeps {
  storage: Storage;
  writer: LogWriter;
  lock: DeletionLock;
  dataDir: string;
  /** Where backups go, one directory each (config backup.dir). */
  backupDir: string;
  masterKey: () => MasterKey;
  audit: AuditTrail;
}

const backupBody = z
  .object({
    /** Directory name under backup.dir; default the UTC time. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a directory name')
      .optional(),
  })
  .strict();

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex');
const count = z.number().int().nonnegative();

/** What `meshlog restore --report-to` says of a restore it ran and verified elsewhere. */
const restoreTestBody = z
  .object({
    backup: z
      .object({
        manifest_sha256: sha256Hex,
        source: z.string().max(4096),
        created_at: z.iso.datetime(),
        cut_at: z.iso.datetime().nullable(),
      })
      .strict(),
    restored_at: z.iso.datetime(),
    restored_by: z.string().max(256),
    host: z.string().max(256),
    tables: count,
    rows: count,
    verification: z
      .object({ ok: z.boolean(), chains: count, batches: count, records: count, checkpoints: count, findings: count })
      .strict()
      .nullable(),
  })
  .strict();

/**
 * Backups of the running server, consistent while ingest continues, and the
 * restore tests run on them elsewhere (admin, audited): a restore runs offline
 * on another data directory, so the production server learns of it only
 * when `meshlog restore --report-to` tells it, and records it as evidence.
 */
export function backupRoutes(app: FastifyInstance, deps: BackupDeps): void {
  app.post('/api/v1/admin/backups', { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } }, async (request, reply) => {
    const { name } = parseJsonBody(backupBody, request.body ?? {});
    const out = join(deps.backupDir, name ?? new Date().toISOString().replace(/[:.]/g, '-'));
    if (existsSync(out)) throw new MeshlogError('ML_CONFLICT', `backup ${out} already exists`);
    const masterKey = deps.masterKey();
    try {
      const { manifest, heldCommitsMs } = await backupRunning(deps.storage, deps.writer, deps.lock, {
        dataDir: deps.dataDir,
        out,
        includeSecrets: false,
        masterKey,
      });
      const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
      // A restore test names the manifest it restored: the report ties it to this backup by the hash.
      const manifestSha256 = createHash('sha256')
        .update(readFileSync(join(out, backupManifestFile)))
        .digest('hex');
      await deps.audit.record({
        action: 'backup.create',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        target: out,
        detail: {
          tables: manifest.tables.length,
          rows,
          cut: manifest.cut,
          held_commits_ms: heldCommitsMs,
          master_key_id: masterKey.id,
          manifest_sha256: manifestSha256,
        },
      });
      return reply.code(201).send({
        backup: {
          path: out,
          created_at: manifest.created_at,
          tables: manifest.tables.length,
          rows,
          cut: manifest.cut,
          held_commits_ms: heldCommitsMs,
          master_key_id: masterKey.id,
        },
      });
    } catch (error) {
      await deps.audit.record({
        action: 'backup.create',
        outcome: 'failure',
        actor: request.identity,
        remoteAddress: request.ip,
        target: out,
        detail: { reason: (error as Error).message },
      });
      throw error;
    }
  });

  app.post(
    '/api/v1/admin/backups/restore-tests',
    { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } },
    async (request, reply) => {
      const test = parseJsonBody(restoreTestBody, request.body ?? {});
      const passed = test.verification?.ok === true;
      await deps.audit.record({
        action: 'backup.restore_test',
        outcome: passed ? 'success' : 'failure',
        actor: request.identity,
        remoteAddress: request.ip,
        target: test.backup.manifest_sha256,
        detail: test,
      });
      return reply
        .code(201)
        .send({ recorded: { action: 'backup.restore_test', passed, backup_manifest_sha256: test.backup.manifest_sha256 } });
    },
  );
}
