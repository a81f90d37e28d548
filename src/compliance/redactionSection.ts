import type { ReportSection, SectionInput } from './reportModel.js';

/** PII redaction: the rules in force and how many values each rule redacted in the period, counted in the stored records. */
export async function redactionSection({ sources, period }: SectionInput): Promise<ReportSection> {
  const redaction = sources.config.pipeline.redaction;
  const counts = Object.fromEntries((await sources.queries.storedRedactions(period)).map((row) => [row.rule, Number(row.values)]));
  const data = {
    enabled: redaction.enabled,
    builtin_rules: redaction.rules,
    custom_rules: redaction.custom,
    // As the admin page names it: redact rewrites before storage, observe marks and masks in query results.
    mode: redaction.mode,
    replacement: redaction.hash_key_file ? 'keyed hash (HMAC-SHA256)' : 'mask',
    attribute_allowlist: redaction.attribute_allowlist,
    redactions_per_rule: counts,
    note: 'counted in the records stored for the period: [REDACTED:<rule>] markers in bodies and log attributes (redact mode) and the rules of meshlog.sensitive marks (observe mode)',
  };
  const base = { id: 'redaction', title: 'PII redaction at ingest', criteria: ['C1.1', 'P4.2', 'CC6.7'], data };
  if (!redaction.enabled) return { ...base, status: 'fail', reason: 'redaction is disabled (pipeline.redaction.enabled: false)' };
  const ruleCount = redaction.rules.length + redaction.custom.length;
  if (ruleCount === 0) return { ...base, status: 'attention', reason: 'redaction is enabled but no rule is configured' };
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  return { ...base, status: 'pass', reason: `${ruleCount} rules in force (${redaction.mode}); ${total} values redacted in the period's stored records` };
}
