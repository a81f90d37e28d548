import type { AuditTrail } from '../security/auditTrail.js';
import type { AuditStore } from '../storage/stores/auditStore.js';
import { configDiff, configSnapshot, snapshotSha256 } from './configFingerprint.js';
import type { MeshlogConfig } from './schema.js';

/**
 * Hashes the effective configuration (secrets excluded) and, when it differs
 * from the last one the audit trail recorded, records a `config.change` with
 * the differences and the whole snapshot: a change made in the file and picked
 * up at a restart is change-management evidence like one made through the API,
 * and a past period's policies can be read back from these events.
 */
export async function recordConfigChange(
  config: MeshlogConfig,
  auditStore: AuditStore,
  audit: AuditTrail,
  trigger: 'start' | 'reload',
): Promise<string> {
  const snapshot = configSnapshot(config);
  const sha256 = snapshotSha256(snapshot);
  const [last] = await auditStore.events({ sinceNs: 0n, action: 'config.change', outcome: 'success', limit: 1 });
  const previous = last ? (JSON.parse(last.detail || '{}') as { sha256?: string; config?: Record<string, unknown> }) : undefined;
  if (previous?.sha256 === sha256) return sha256;
  await audit.record({
    action: 'config.change',
    outcome: 'success',
    target: 'configuration',
    detail: {
      trigger,
      sha256,
      previous_sha256: previous?.sha256 ?? null,
      // The first start has nothing to differ from: its snapshot is the baseline.
      diff: previous?.config ? configDiff(previous.config, snapshot) : [],
      config: snapshot,
    },
  });
  return sha256;
}
