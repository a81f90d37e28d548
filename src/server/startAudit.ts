import { pendingRestore } from '../backup/restoreMarker.js';
import { recordConfigChange } from '../config/configChanges.js';
import type { MeshlogConfig } from '../config/schema.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { AuditStore } from '../storage/stores/auditStore.js';

/**
 * The start in the audit trail, once requests are taken: the config in force
 * (`config.change` when it differs from the last one recorded),
 * `server.start` with what it listens on, then a restore made offline into
 * this data directory, which had no trail to write to then.
 */
export async function auditServerStart(
  config: MeshlogConfig,
  trail: { audit: AuditTrail; auditStore: AuditStore },
  bound: { httpUrl: string; listeners: Record<string, string> },
): Promise<void> {
  const { audit } = trail;
  const configSha256 = await recordConfigChange(config, trail.auditStore, audit, 'start');
  await audit.record({
    action: 'server.start',
    outcome: 'success',
    detail: {
      http: bound.httpUrl,
      listeners: bound.listeners,
      auth: config.auth,
      sealing: config.integrity.seal,
      config_sha256: configSha256,
    },
  });
  const restored = pendingRestore(config.data_dir);
  if (restored) {
    await audit.record({ action: 'backup.restore', outcome: 'success', detail: restored.detail });
    restored.recordedNow();
  }
}
