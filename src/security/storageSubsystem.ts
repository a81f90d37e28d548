import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import { pendingEncryption } from '../storage/engine/encryptDataDir.js';
import type { Storage } from '../storage/engine/storage.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import { defaultStorageKeyFile, rotateStorageKeyFile, storageKeysEnvironmentVariable } from '../storage/engine/storageKeys.js';
import type { AuditTrail } from './auditTrail.js';
import type { Identity } from './identity.js';
import { storageKeyRoutes } from './storageKeyRoutes.js';

/**
 * What storage does that the audit trail must show: parts the engine set
 * aside and restored, journaled seals set aside, encryption of the data
 * directory and each storage key first used, and storage-key rotation of the
 * running server (its route and SIGHUP's reload). Storage and the seal store
 * are opened before the trail exists.
 */
export function storageSubsystem(
  storage: Storage,
  deps: {
    dataDir: string;
    keyFile: string | undefined;
    /** The seal store, when sealing is on. */
    seals: SealStore | undefined;
    audit: AuditTrail;
    logger: Logger;
  },
) {
  const { audit, logger } = deps;
  // Journaled seals set aside (at this start or later): each is an audit event, and a finding of verify.
  deps.seals?.onQuarantine((entries) => {
    for (const entry of entries) {
      void audit.record({
        action: 'integrity.seal_quarantined',
        outcome: 'failure',
        target: entry.chain ?? entry.segment,
        detail: { segment: entry.segment, batch_seq: entry.batchSeq ?? null, reason: entry.reason },
      });
    }
  });
  // Parts the engine left unreadable (a full disk mid-merge) are set aside and what they covered restored: each an audit event.
  storage.watchParts((parts, reinserted) => {
    for (const part of parts) {
      const lost = part.rows - part.restoredRows - part.reinsertedRows;
      if (lost > 0)
        logger.error(
          { table: part.table, part: part.name, rows: part.rows, restored: part.restoredRows, reinserted: part.reinsertedRows },
          'storage part broken and not fully restored: rows lost (meshlog verify reports the batches)',
        );
      void audit.record({
        action: 'storage.part_repaired',
        outcome: lost > 0 ? 'failure' : 'success',
        target: `${part.table}/${part.name}`,
        detail: { rows: part.rows, restored_rows: part.restoredRows, reinserted_rows: part.reinsertedRows, check: part.check },
      });
    }
    // Acknowledged rows a broken part took, inserted again from memory: each batch an audit event with its rows.
    for (const batch of reinserted) {
      void audit.record({
        action: 'storage.batch_reinserted',
        outcome: 'success',
        target: batch.table,
        detail: { rows: batch.rows, batch_rows: batch.batchRows, batches: batch.batches.slice(0, 20) },
      });
    }
  });

  /** `meshlog keys rotate-storage` against the running server: a new key in the key file, current at once. */
  async function rotate(actor: Identity, remoteAddress: string): Promise<{ key_id: number; key_ids: number[] }> {
    try {
      if (process.env[storageKeysEnvironmentVariable]) {
        throw new MeshlogError(
          'ML_CONFLICT',
          `the storage keys come from ${storageKeysEnvironmentVariable}: append a new <id>:<64 hex> entry there and send SIGHUP`,
        );
      }
      const { id } = rotateStorageKeyFile(deps.keyFile ?? defaultStorageKeyFile(deps.dataDir));
      const applied = await storage.reloadStorageKeys();
      const keyIds = applied?.newKeyIds ?? [id];
      await audit.record({
        action: 'storage.key_added',
        outcome: 'success',
        actor,
        remoteAddress,
        target: String(id),
        detail: { key_ids: keyIds, current_key_id: id, live: true },
      });
      return { key_id: id, key_ids: keyIds };
    } catch (error) {
      await audit.record({
        action: 'storage.key_added',
        outcome: 'failure',
        actor,
        remoteAddress,
        detail: { reason: (error as Error).message, live: true },
      });
      throw error;
    }
  }

  // Rotation of a running server's key: only with embedded encryption at rest.
  const routes: FastifyPluginAsync | undefined = storage.encryptionAtRest?.enabled
    ? async (app) => storageKeyRoutes(app, { rotate })
    : undefined;

  return {
    routes,
    /** After `server.start`: the data directory encrypted by this start, and a storage key first used by it. */
    async recordStartEvents(): Promise<void> {
      const encrypted = pendingEncryption(deps.dataDir);
      if (encrypted) {
        await audit.record({
          action: 'storage.encrypt',
          outcome: 'success',
          target: String(encrypted.detail.keyId),
          detail: { ...encrypted.detail },
        });
        encrypted.recordedNow();
      }
      const encryption = storage.encryptionAtRest;
      // A storage key first used by this start (the first key, or one `meshlog keys rotate-storage` added).
      if (encryption?.enabled && encryption.newKeyIds.length > 0) {
        await audit.record({
          action: 'storage.key_added',
          outcome: 'success',
          target: String(encryption.currentKeyId),
          detail: { key_ids: encryption.newKeyIds, current_key_id: encryption.currentKeyId },
        });
      }
    },
    /** SIGHUP: a key file changed by hand or by the offline `meshlog keys rotate-storage` is taken up without a restart. */
    async reloadKeys(): Promise<void> {
      if (!storage.encryptionAtRest?.enabled) return;
      try {
        const applied = await storage.reloadStorageKeys();
        if (!applied) return;
        await audit.record({
          action: 'storage.key_added',
          outcome: 'success',
          target: String(applied.currentKeyId),
          detail: { key_ids: applied.newKeyIds, current_key_id: applied.currentKeyId, live: true },
        });
      } catch (error) {
        logger.error({ reason: (error as Error).message }, 'storage keys not reloaded; the engine keeps the keys it has');
        await audit
          .record({ action: 'storage.key_added', outcome: 'failure', detail: { reason: (error as Error).message, live: true } })
          .catch(() => undefined);
      }
    },
  };
}
