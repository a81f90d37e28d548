import { backupMeshlog, type BackupOptions } from './backup.js';
import type { BackupManifest } from './backupManifest.js';
import type { LogWriter } from '../ingest/writer.js';
import type { DeletionLock } from '../retention/deletionLock.js';
import { BackupStore } from '../storage/stores/backupStore.js';
import type { Storage } from '../storage/engine/storage.js';

/**
 * A consistent backup of a running meshlog while ingest goes on: the cut is
 * taken between two group commits (each chain's last whole batch), rows past
 * it are left out, and no erasure or disposal runs until the copy is done, so
 * what is restored verifies clean as the meshlog stood at the cut.
 */
export async function backupRunning(
  storage: Storage,
  writer: LogWriter,
  lock: DeletionLock,
  options: Omit<BackupOptions, 'cut'>,
): Promise<{ manifest: BackupManifest; heldCommitsMs: number }> {
  return lock.run(async () => {
    // Chains of earlier writer ids no longer grow; this writer's heads come from it, between commits.
    const stored = await new BackupStore(storage).chainHeads();
    const asked = performance.now();
    const cut = await writer.betweenCommits(async (heads) => ({ chains: { ...stored, ...Object.fromEntries(heads) }, atMs: Date.now() }));
    // How long commits were held: the commit in flight finishing, then the cut.
    const heldCommitsMs = Math.round((performance.now() - asked) * 10) / 10;
    return { manifest: await backupMeshlog(storage, { ...options, cut }), heldCommitsMs };
  });
}
