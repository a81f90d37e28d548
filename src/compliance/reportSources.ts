import type { MeshlogConfig } from '../config/schema.js';
import type { NoteSigner } from '../integrity/signedNote.js';
import type { Metrics } from '../observability/metrics.js';
import type { KeyView } from '../security/apiKeys.js';
import type { AuditStore } from '../storage/stores/auditStore.js';
import { ComplianceQueries } from '../storage/stores/complianceQueries.js';
import type { IncidentStore } from '../storage/stores/incidentStore.js';
import { PolicyStore } from '../storage/stores/policyStore.js';
import type { LegalHold, RetentionStore } from '../storage/stores/retentionStore.js';
import type { Storage } from '../storage/engine/storage.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import type { ReportSources } from './reportModel.js';

/** The running server's parts a report reads besides storage. */
export interface ReportedParts {
  auditStore: AuditStore;
  /** Absent when sealing is off. */
  seals: SealStore | undefined;
  signer: NoteSigner;
  keys: () => KeyView[];
  metrics: Metrics;
  retention: RetentionStore;
  incidents: IncidentStore;
  recordHolds: () => Promise<LegalHold[]>;
}

/** A report's sources, gathered from the running server's parts (the ingest refusals counted since it started). */
export function reportSources(config: MeshlogConfig, storage: Storage, parts: ReportedParts): ReportSources {
  const { metrics } = parts;
  return {
    queries: new ComplianceQueries(storage),
    auditStore: parts.auditStore,
    integrity: parts.seals && { store: parts.seals, verifierKey: parts.signer.verifierKey },
    keys: parts.keys,
    config,
    serverStartedAt: new Date().toISOString(),
    ingestRefusals: async () => ({
      records: Object.fromEntries(
        (await metrics.recordsRejected.get()).values.map((value) => [`${value.labels.receiver}/${value.labels.reason}`, value.value]),
      ),
      requests: Object.fromEntries((await metrics.requestsRejected.get()).values.map((value) => [String(value.labels.code), value.value])),
    }),
    signer: parts.signer,
    retention: parts.retention,
    // Applied policies and drift, read from storage as the policy subsystem stores them.
    policy: new PolicyStore(storage),
    incidents: parts.incidents,
    recordHolds: parts.recordHolds,
  };
}
