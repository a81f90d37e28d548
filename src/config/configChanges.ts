import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuditTrail } from '../security/auditTrail.js';
import type { AuditStore } from '../storage/stores/auditStore.js';
import { configDiff, configSnapshot, snapshotSha256 } from './configFingerprint.js';
import type { MeshlogConfig } from './schema.js';

/**
 * Hashes the effective configuration (secrets excluded) and, when it differs
 * from the last one the audit trail recorded, records a `config.change` with
 * the differences and the whole snapshot: a change made in the file and picked
 * up at a restart is change-management evidence like one made through the API,
 * and a past period's policies can be read back from these events. The alert
 * rules files' contents are part of it: a rule edited in its file and picked
 * up at a restart is a change like one made through the ruler API.
 */
export async function recordConfigChange(
  config: MeshlogConfig,
  auditStore: AuditStore,
  audit: AuditTrail,
  trigger: 'start' | 'reload',
): Promise<string> {
  const snapshot = withRulesFilesContent(configSnapshot(config), config.alerting.rules_files);
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

export interface RulesFileContent {
  path: string;
  sha256: string | null;
  /** The file as read at start; null when it could not be read (the alerting subsystem reports why). */
  content: string | null;
}

function withRulesFilesContent(snapshot: Record<string, unknown>, files: string[]): Record<string, unknown> {
  const contents: RulesFileContent[] = files.map((path) => {
    try {
      const content = readFileSync(path, 'utf8');
      return { path, sha256: createHash('sha256').update(content).digest('hex'), content };
    } catch {
      return { path, sha256: null, content: null };
    }
  });
  return { ...snapshot, alerting: { ...(snapshot.alerting as Record<string, unknown>), rules_files_content: contents } };
}
