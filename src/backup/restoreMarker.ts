import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pending = 'restored-from.json';
const recorded = 'restored-from.recorded.json';

/**
 * A restore runs offline, with no audit trail to write to: it leaves this
 * note in the new data directory, and the first server started on it puts
 * the restore into the audit trail.
 */
export function writeRestoreMarker(dataDir: string, detail: Record<string, unknown>): void {
  writeFileSync(join(dataDir, pending), `${JSON.stringify(detail, null, 2)}\n`, { mode: 0o600 });
}

/** The restore not yet in the audit trail; `recordedNow` marks it done once its audit record is committed. */
export function pendingRestore(dataDir: string): { detail: Record<string, unknown>; recordedNow: () => void } | undefined {
  const path = join(dataDir, pending);
  if (!existsSync(path)) return undefined;
  return {
    detail: JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>,
    recordedNow: () => renameSync(path, join(dataDir, recorded)),
  };
}
