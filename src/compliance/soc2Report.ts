import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { CompliancePeriod, RecordedQuery } from '../storage/stores/complianceQueries.js';
import { accessSection } from './accessSection.js';
import { accessReviewSection } from './accessReviewSection.js';
import { availabilitySection } from './availabilitySection.js';
import { capacitySection } from './capacitySection.js';
import { changeSection } from './changeSection.js';
import { coverageSection } from './coverageSection.js';
import { dataAccessSection } from './dataAccessSection.js';
import { integritySection } from './integritySection.js';
import { incidentSection } from './incidentSection.js';
import { monitoringSection } from './monitoringSection.js';
import { policySection } from './policySection.js';
import { redactionSection } from './redactionSection.js';
import { isoOfNs, type ReportSection, type ReportSources, type SectionInput, type Soc2Report } from './reportModel.js';
import { signReport } from '../integrity/reportSignature.js';
import { retentionSection } from './retentionSection.js';
import { transmissionSection } from './transmissionSection.js';

/**
 * The report's sections, in the order they are printed, each with what it
 * reads besides the storage queries recorded as it runs (`audit:` = audit
 * events of the period with these actions).
 */
const sectionBuilders: {
  build: (input: SectionInput) => Promise<ReportSection>;
  inputs: string[];
  /** Read only from stored events and records of the period: the same whenever generated. */ stored?: true;
}[] = [
  { build: coverageSection, inputs: [], stored: true },
  {
    build: integritySection,
    inputs: [
      'meshlog verify over the period: seal_batches, seal_events and signed checkpoints of every chain, and the fingerprint of every stored record',
      'latest signed checkpoint of every chain (seal_checkpoints)',
    ],
  },
  {
    build: retentionSection,
    inputs: [
      'audit: config.change (retention.* of each configuration in force in the period, and of the last one before it)',
      'configuration: retention.* (records overdue now)',
      'legal holds (legal_holds table)',
      'records pinned to incidents still held (incident_events table)',
      'audit: retention.dispose, legal_hold.place, legal_hold.release',
      'audit: erasure.request, erasure.cancel, erasure.execute up to the end of the period',
    ],
  },
  {
    build: accessSection,
    inputs: [
      'API keys (api_keys table) as of the end of the period',
      'audit: users.* from the first event to the end of the period (the user population, replayed)',
      'audit: keys.create, keys.revoke, users.update and users.disable (keys revoked with them), auth.failure, auth.session.login (UI logins), auth.throttled (lockouts), access.denied',
    ],
    stored: true,
  },
  {
    build: accessReviewSection,
    inputs: [
      'audit: access_review.start (frozen populations), access_review.decide, access_review.sign_off (Ed25519-signed statements) from the first event to the end of the period',
      'audit: keys.revoke and users.disable made by a review decision',
    ],
    stored: true,
  },
  {
    build: dataAccessSection,
    inputs: [
      'audit: query, query.export, archive.export, audit.read, admin.read (grouped by identity, tenant and outcome)',
      'audit: report.generate',
    ],
    stored: true,
  },
  {
    build: changeSection,
    inputs: [
      'audit: every change kind (keys.*, users.*, tenants.*, access_review.*, erasure.request/cancel/execute, legal_hold.*, backup.restore, archive.key_shred, alert_rules.*, silences.*, config.* with config.change diffs, storage.key_added/encrypt, saved_queries.*, policy.apply with its diff), admin.read',
    ],
    stored: true,
  },
  {
    build: transmissionSection,
    inputs: [
      'configuration: host, tls, allow_plaintext, forward, syslog, otlp_grpc, encryption',
      'audit: config.tls_reload, storage.key_added',
    ],
  },
  {
    build: redactionSection,
    inputs: [
      'audit: config.change (pipeline.redaction of each configuration in force in the period, and of the last one before it)',
      'stored records of the period: [REDACTED:<rule>] markers and meshlog.sensitive marks',
    ],
    stored: true,
  },
  {
    build: monitoringSection,
    inputs: [
      'audit: config.change (alerting.* of each configuration in force in the period, and of the last one before it)',
      'audit: alert_rules.create, alert_rules.update, alert_rules.delete from the first event to the end of the period (each rule group version, replayed)',
      'alert states, notification attempts and acknowledgements of the period (alert_states, notification_attempts, alert_acknowledgements tables; acknowledgements up to its end)',
    ],
    stored: true,
  },
  {
    build: incidentSection,
    inputs: [
      'incident timelines up to the end of the period (incident_events table): openings, acknowledgements, state changes, linked alerts, pins',
    ],
    stored: true,
  },
  {
    build: policySection,
    inputs: [
      'logging policies in force during the period (policy_versions table)',
      'policy drift events of the period and findings open at its start (policy_drift table)',
    ],
    stored: true,
  },
  {
    build: availabilitySection,
    inputs: [
      'audit: server.start, server.stop, backup.create, backup.restore (with its verification), backup.restore_test (reported by meshlog restore --report-to)',
    ],
    stored: true,
  },
  {
    build: capacitySection,
    inputs: [
      'configuration: ingest.*, retention.*',
      'meshlog_records_rejected_total and meshlog_requests_rejected_total counters of the running server',
    ],
  },
];

/** Audit events read for one report; a period with more is marked truncated. */
const maxAuditEvents = 100_000;

/** The hash an auditor compares across regenerations and formats of one period (see Soc2Report.period_evidence). */
export function periodEvidenceSha256(
  facts: { period: { from: string; to: string }; tenant: string | null },
  sections: ReportSection[],
): string {
  return createHash('sha256')
    .update(canonicalize({ ...facts, sections }) ?? '')
    .digest('hex');
}

export interface BuiltReport {
  report: Soc2Report;
  /** The JSON evidence exactly as served and hashed. */
  json: string;
  sha256: string;
}

/** Server-wide events a one-tenant report needs (the configuration in force, the server's availability and storage): no tenant's business. */
const serverWideActions = /^(config\.|server\.|backup\.|storage\.)/;

/**
 * The audit events a report for `tenant` may show: that tenant's, as its
 * auditors read them through the audit API, and server-wide configuration and
 * availability events; never another tenant's (a report for every tenant,
 * `tenant` empty, shows them all).
 */
function inScope(event: { tenant: string; action: string }, tenant: string): boolean {
  return !tenant || event.tenant === tenant || (event.tenant === '' && serverWideActions.test(event.action));
}

/** Builds a SOC 2 evidence report for a period from what meshlog recorded. */
export async function buildSoc2Report(
  sources: ReportSources,
  period: CompliancePeriod,
  generatedBy: { id: string; name: string },
): Promise<BuiltReport> {
  const newestFirst = await sources.auditStore.events({ sinceNs: period.fromNs, untilNs: period.toNs, limit: maxAuditEvents });
  const audit = newestFirst.reverse().filter((event) => inScope(event, period.tenant));
  const sections = await Promise.all(
    sectionBuilders.map(async ({ build, inputs }) => {
      const queries: RecordedQuery[] = [];
      const section = await build({ sources: { ...sources, queries: sources.queries.recordingInto(queries) }, period, audit });
      return { ...section, provenance: { queries, inputs } };
    }),
  );
  const periodFacts = { period: { from: isoOfNs(period.fromNs), to: isoOfNs(period.toNs) }, tenant: period.tenant || null };
  const stored = sections.filter((_section, i) => sectionBuilders[i]!.stored);
  const unsigned: Soc2Report = {
    report: 'soc2',
    format_version: 2,
    generated_at: new Date().toISOString(),
    generated_by: generatedBy,
    period: { from: isoOfNs(period.fromNs), to: isoOfNs(period.toNs) },
    tenant: period.tenant || null,
    audit_events: { read: newestFirst.length, truncated: newestFirst.length >= maxAuditEvents },
    period_evidence: {
      sha256: periodEvidenceSha256(periodFacts, stored),
      sections: stored.map((section) => section.id),
      rule: 'SHA-256 of the RFC 8785 canonical JSON of { period, tenant, sections } over these sections, read only from events and records stored for the period: regenerating a closed period gives the same hash. The other sections read the running server (configuration, counters, latest checkpoints, records overdue now).',
    },
    summary: sections.map(({ id, title, criteria, status, reason }) => ({ id, title, criteria, status, reason })),
    sections,
    provenance: {
      generator: 'meshlog report soc2',
      server_started_at: sources.serverStartedAt,
      signing_key: sources.signer.verifierKey,
      audit_events_query: {
        source: 'audit trail: records of tenant _audit in the logs table, oldest first',
        from: isoOfNs(period.fromNs),
        to: isoOfNs(period.toNs),
        limit: maxAuditEvents,
      },
    },
  };
  const report = signReport(unsigned, sources.signer);
  const json = JSON.stringify(report, null, 2);
  return { report, json, sha256: createHash('sha256').update(json).digest('hex') };
}
