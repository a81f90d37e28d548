import type { LogRecord } from '../model/logRecord.js';
import type { Stage } from './ingestPipeline.js';
import { builtinRules } from './redact/builtinRules.js';
import { Redactor, type RedactionCounts } from './redact/redactor.js';

export interface RedactionOptions {
  /** Built-in rule names (url_password, query_secret, email, credit_card, us_ssn, jwt, bearer_token, aws_access_key, github_token, slack_token, ipv4, ipv6). */
  rules: string[];
  /** User rules: a name (used in the marker and the count) and a regex matching only the secret. */
  custom: { name: string; pattern: string }[];
}

/** Called once per batch and rule that redacted something: counts, never values (the server makes them a metric). */
export type RedactionReport = (rule: string, count: number) => void;

function redactorsOf(options: RedactionOptions): Redactor[] {
  for (const name of options.rules) {
    if (!builtinRules[name]) throw new Error(`unknown redaction rule "${name}" (known: ${Object.keys(builtinRules).join(', ')})`);
  }
  const builtins = Object.values(builtinRules).filter((rule) => options.rules.includes(rule.name));
  // User rules have no gate: in a Redactor of their own they do not disable the built-ins' shared gate.
  return [new Redactor(builtins), ...(options.custom.length > 0 ? [new Redactor(options.custom)] : [])];
}

function redact(text: string, redactors: Redactor[], counts: RedactionCounts): string {
  let out = text;
  for (const redactor of redactors) out = redactor.redact(out, counts);
  return out;
}

function redactValues(values: Record<string, string>, redactors: Redactor[], counts: RedactionCounts): void {
  for (const key in values) {
    const value = values[key];
    // Nothing redactable is shorter (the shortest built-in match is an e-mail a@b.cc).
    if (value.length < 6) continue;
    const redacted = redact(value, redactors, counts);
    if (redacted !== value) values[key] = redacted;
  }
}

/**
 * Replaces secrets and personal data in bodies, log attributes and resource
 * attributes by `[REDACTED:<rule>]` before anything is stored.
 */
export function redactionStage(options: RedactionOptions, report: RedactionReport): Stage {
  const redactors = redactorsOf(options);
  return (records: LogRecord[]) => {
    const counts: RedactionCounts = new Map();
    for (const record of records) {
      record.body = redact(record.body, redactors, counts);
      redactValues(record.attributes, redactors, counts);
      redactValues(record.resource, redactors, counts);
    }
    for (const [rule, count] of counts) report(rule, count);
    return records;
  };
}
