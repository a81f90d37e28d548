import { configsInForce } from './configsInForce.js';
import type { ReportSection, SectionInput } from './reportModel.js';

/**
 * PII redaction: the rules in force during the period (each configuration
 * recorded at a start or reload, with when it applied) and how many values
 * each rule redacted in the period, counted in the stored records: a closed
 * period reads the same whenever it is regenerated.
 */
export async function redactionSection(input: SectionInput): Promise<ReportSection> {
  const { sources, period } = input;
  const recorded = await configsInForce(input);
  // Before config changes were recorded, only the running configuration is known.
  const configurations =
    recorded.length > 0
      ? recorded.map((entry) => ({
          from: entry.from,
          to: entry.to,
          config_sha256: entry.sha256 as string | null,
          redaction: entry.config.pipeline.redaction,
        }))
      : [{ from: null, to: null, config_sha256: null, redaction: sources.config.pipeline.redaction }];
  const inForce = configurations.map(({ from, to, config_sha256, redaction }) => ({
    from,
    to,
    config_sha256,
    enabled: redaction.enabled,
    builtin_rules: redaction.rules,
    custom_rules: redaction.custom,
    // As the admin page names it: redact rewrites before storage, observe marks and masks in query results.
    mode: redaction.mode,
    replacement: redaction.hash_key_file ? 'keyed hash (HMAC-SHA256)' : 'mask',
    attribute_allowlist: redaction.attribute_allowlist,
  }));
  const { from: _from, to: _to, config_sha256: _sha256, ...atEnd } = inForce.at(-1)!;
  const counts = Object.fromEntries((await sources.queries.storedRedactions(period)).map((row) => [row.rule, Number(row.values)]));
  const data = {
    ...atEnd,
    in_force: inForce,
    redactions_per_rule: counts,
    note: 'rules as recorded in the config.change events of the period (the last one before it, then each change); counted in the records stored for the period: [REDACTED:<rule>] markers in bodies and log attributes (redact mode) and the rules of meshlog.sensitive marks (observe mode)',
  };
  const base = { id: 'redaction', title: 'PII redaction at ingest', criteria: ['C1.1', 'P4.2', 'CC6.7'], data };
  const span = (entry: (typeof inForce)[number]) => (entry.from ? ` from ${entry.from} to ${entry.to}` : '');
  const disabled = inForce.filter((entry) => !entry.enabled);
  if (disabled.length > 0)
    return { ...base, status: 'fail', reason: `redaction was disabled (pipeline.redaction.enabled: false)${disabled.map(span).join(',')}` };
  const ruleless = inForce.filter((entry) => entry.builtin_rules.length + entry.custom_rules.length === 0);
  if (ruleless.length > 0)
    return { ...base, status: 'attention', reason: `redaction was enabled but no rule was configured${ruleless.map(span).join(',')}` };
  const ruleCount = atEnd.builtin_rules.length + atEnd.custom_rules.length;
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
  return {
    ...base,
    status: 'pass',
    reason: `${ruleCount} rules in force (${atEnd.mode})${inForce.length > 1 ? ` at the end, ${inForce.length} configurations in the period` : ''}; ${total} values redacted in the period's stored records`,
  };
}
