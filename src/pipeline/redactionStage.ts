import { createHmac } from 'node:crypto';
import type { LogRecord } from '../model/logRecord.js';
import type { Stage } from './ingestPipeline.js';
import { builtinRules } from './redact/builtinRules.js';
import { Redactor, type RedactionCounts, type Replacement } from './redact/redactor.js';

export interface RedactionOptions {
  /** Built-in rule names (url_password, query_secret, email, credit_card, us_ssn, jwt, bearer_token, aws_access_key, github_token, slack_token, ipv4, ipv6). */
  rules: string[];
  /** User rules: a name (used in the marker and the count) and a regex matching only the secret. */
  custom: { name: string; pattern: string }[];
  /**
   * With a key, a secret becomes `[REDACTED:<rule>:<HMAC-SHA256 prefix>]`: equal
   * values still join across records, and without the key the value cannot be
   * guessed back (a plain hash of a card number or e-mail could).
   */
  hashKey?: Buffer;
  /** When not empty, only these log attribute keys survive (`http.*` for a prefix); the others are dropped (fail-closed). */
  attributeAllowlist?: string[];
  /** Store secrets as sent and only mark the record (`meshlog.sensitive`); query results mask them (query/readMasking.ts). */
  observe?: boolean;
}

/** The attribute observe mode marks a record with: the names of the rules that matched, comma-separated. */
export const sensitiveMarkAttribute = 'meshlog.sensitive';

/** Called once per batch and rule that redacted something: counts, never values (the server makes them a metric). */
export type RedactionReport = (rule: string, count: number) => void;

function keyedHash(key: Buffer): Replacement {
  return (rule, secret) => `[REDACTED:${rule}:${createHmac('sha256', key).update(secret).digest('hex').slice(0, 16)}]`;
}

/** The configured rules as redactors; `replacement` overrides the marker (read-time masking uses its own). */
export function redactorsOf(options: Pick<RedactionOptions, 'rules' | 'custom' | 'hashKey'>, replacement?: Replacement): Redactor[] {
  for (const name of options.rules) {
    if (!builtinRules[name]) throw new Error(`unknown redaction rule "${name}" (known: ${Object.keys(builtinRules).join(', ')})`);
  }
  replacement ??= options.hashKey === undefined ? undefined : keyedHash(options.hashKey);
  const builtins = Object.values(builtinRules).filter((rule) => options.rules.includes(rule.name));
  // User rules have no gate: in a Redactor of their own they do not disable the built-ins' shared gate.
  return [builtins, options.custom].filter((rules) => rules.length > 0).map((rules) => new Redactor(rules, replacement));
}

export function redact(text: string, redactors: Redactor[], counts: RedactionCounts): string {
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

/** Observe mode: the record keeps its values and is marked with the rules that would have redacted it; counts are kept as in redact mode. */
function observe(record: LogRecord, resourceFound: RedactionCounts, redactors: Redactor[], counts: RedactionCounts): void {
  const found: RedactionCounts = new Map(resourceFound);
  redact(record.body, redactors, found);
  redactValues({ ...record.attributes }, redactors, found);
  if (found.size === 0) return;
  for (const [rule, count] of found) counts.set(rule, (counts.get(rule) ?? 0) + count);
  record.attributes[sensitiveMarkAttribute] = [...found.keys()].sort().join(',');
}

/** What observe mode finds in resource values, without changing them. */
function foundInResource(resource: Record<string, string>, redactors: Redactor[]): RedactionCounts {
  const found: RedactionCounts = new Map();
  redactValues({ ...resource }, redactors, found);
  return found;
}

/**
 * A record's body and log attribute values as one text, one per line. A built-in
 * rule that matches none of it matches no single value either, so most
 * records (access logs with ids and numbers that pass some gate) are cleared
 * by one scan instead of one per value. Resource values are not in it: they
 * are shared by a resource's records and screened once per batch.
 */
function textOf(record: LogRecord): string {
  let text = record.body;
  for (const key in record.attributes) text += '\n' + record.attributes[key];
  return text;
}

/** Redacts a resource's values in place, screened as one text first (see textOf). */
function redactResource(resource: Record<string, string>, redactors: Redactor[], counts: RedactionCounts): void {
  let text = '';
  for (const key in resource) text += '\n' + resource[key];
  if (redactors.some((redactor) => redactor.mayRedact(text))) redactValues(resource, redactors, counts);
}

/** `http.*` allows every key under http.; anything else is an exact key. */
function allowlistOf(keys: string[]): ((key: string) => boolean) | undefined {
  if (keys.length === 0) return undefined;
  const exact = new Set(keys.filter((key) => !key.endsWith('*')));
  const prefixes = keys.filter((key) => key.endsWith('*')).map((key) => key.slice(0, -1));
  return (key) => exact.has(key) || prefixes.some((prefix) => key.startsWith(prefix));
}

/**
 * Replaces secrets and personal data in bodies, log attributes and resource
 * attributes before anything is stored, and drops log attributes outside
 * the allowlist when one is set.
 */
export function redactionStage(options: RedactionOptions, report: RedactionReport): Stage {
  const redactors = redactorsOf(options);
  const allowed = allowlistOf(options.attributeAllowlist ?? []);
  return (records: LogRecord[]) => {
    const counts: RedactionCounts = new Map();
    let dropped = 0;
    // Decoders give every record of an OTLP resource the same resource object, so
    // its values are scanned once per object, not once per record. Keyed by the
    // object within this call only: nothing outlives the batch, and another
    // tenant's request or another stage's rules never see these entries.
    const resourcesRedacted = new Set<Record<string, string>>();
    const resourcesObserved = new Map<Record<string, string>, RedactionCounts>();
    for (const record of records) {
      if (allowed) {
        const kept: Record<string, string> = {};
        for (const key in record.attributes) {
          if (allowed(key)) kept[key] = record.attributes[key];
          else dropped++;
        }
        record.attributes = kept;
      }
      if (options.observe) {
        // Observe mode marks and counts every record the resource's secrets reach, as before.
        let resourceFound = resourcesObserved.get(record.resource);
        if (resourceFound === undefined) {
          resourceFound = foundInResource(record.resource, redactors);
          resourcesObserved.set(record.resource, resourceFound);
        }
        observe(record, resourceFound, redactors, counts);
        continue;
      }
      // Redacted in place, so a shared resource is counted once: later records of it held only markers already.
      if (!resourcesRedacted.has(record.resource)) {
        resourcesRedacted.add(record.resource);
        redactResource(record.resource, redactors, counts);
      }
      const text = textOf(record);
      if (!redactors.some((redactor) => redactor.mayRedact(text))) continue;
      record.body = redact(record.body, redactors, counts);
      redactValues(record.attributes, redactors, counts);
    }
    if (dropped > 0) counts.set('attribute_allowlist', dropped);
    for (const [rule, count] of counts) report(rule, count);
    return records;
  };
}
