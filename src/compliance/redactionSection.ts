import type { ReportSection, SectionInput } from './reportModel.js';

/** PII redaction: the rules in force and how many values each rule redacted. */
export async function redactionSection({ sources }: SectionInput): Promise<ReportSection> {
  const redaction = sources.config.pipeline.redaction;
  const counts = await sources.redactionCounts();
  const data = {
    enabled: redaction.enabled,
    builtin_rules: redaction.rules,
    custom_rules: redaction.custom,
    mode: redaction.hash_key_file ? 'keyed hash (HMAC-SHA256)' : 'mask',
    attribute_allowlist: redaction.attribute_allowlist,
    redactions_per_rule: counts,
    counts_since: sources.serverStartedAt,
    note: 'counts come from the meshlog_redactions_total metric of the running server, since it started',
  };
  const base = { id: 'redaction', title: 'PII redaction at ingest', criteria: ['C1.1', 'P4.2', 'CC6.7'], data };
  if (!redaction.enabled) return { ...base, status: 'fail', reason: 'redaction is disabled (pipeline.redaction.enabled: false)' };
  const ruleCount = redaction.rules.length + redaction.custom.length;
  if (ruleCount === 0) return { ...base, status: 'attention', reason: 'redaction is enabled but no rule is configured' };
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  return { ...base, status: 'pass', reason: `${ruleCount} rules in force; ${total} values redacted since ${sources.serverStartedAt}` };
}
