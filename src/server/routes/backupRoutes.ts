import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MasterKey } from '../../archive/masterKey.js';
import { backupRunning } from '../../backup/liveBackup.js';
import { MeshlogError } from '../../errors.js';
import type { LogWriter } from '../../ingest/writer.js';
import type { DeletionLock } from '../../retention/deletionLock.js';
import type { AuditTrail } from '../../security/auditTrail.js';
import type { Storage } from '../../storage/engine/storage.js';
import { parseJsonBody } from '../jsonBody.js';

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
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a directory name').optional(),
  })
  .strict();

/** A backup of the running server, consistent while ingest continues (admin, audited). */
export function backupRoutes(app: FastifyInstance, deps: BackupDeps): void {
  app.post('/api/v1/admin/backups', { config: { auditedByRoute: true } }, async (request, reply) => {
    const { name } = parseJsonBody(backupBody, request.body ?? {});
    const out = join(deps.backupDir, name ?? new Date().toISOString().replace(/[:.]/g, '-'));
    if (existsSync(out)) throw new MeshlogError('ML_CONFLICT', `backup ${out} already exists`);
    const masterKey = deps.masterKey();
    try {
      const { manifest, heldCommitsMs } = await backupRunning(deps.storage, deps.writer, deps.lock, { dataDir: deps.dataDir, out, includeSecrets: false, masterKey });
      const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
      await deps.audit.record({
        action: 'backup.create',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        target: out,
        detail: { tables: manifest.tables.length, rows, cut: manifest.cut, held_commits_ms: heldCommitsMs, master_key_id: masterKey.id },
      });
      return reply.code(201).send({ backup: { path: out, created_at: manifest.created_at, tables: manifest.tables.length, rows, cut: manifest.cut, held_commits_ms: heldCommitsMs, master_key_id: masterKey.id } });
    } catch (error) {
      await deps.audit.record({ action: 'backup.create', outcome: 'failure', actor: request.identity, remoteAddress: request.ip, target: out, detail: { reason: (error as Error).message } });
      throw error;
    }
  });
}
