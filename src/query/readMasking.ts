import { redact, redactorsOf, sensitiveMarkAttribute } from '../pipeline/redactionStage.js';
import type { Redactor } from '../pipeline/redact/redactor.js';
import { labelNameOf } from './logql/labelName.js';
import type { QueryMasking } from './logql/queryContext.js';

export const maskMarker = '[MASKED]';

export interface MaskingRules {
  /** Sensitive field names; `user.*` for a prefix. `.` and `_` are the same (Loki label names). */
  fields: string[];
  /** Observe-mode redaction rules: applied at read time to records their ingest marked. */
  observe?: { rules: string[]; custom: { name: string; pattern: string }[] };
}

/** A Loki stream as answered: its labels (stream labels and structured metadata) and `[ts, line]` entries. */
export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string, ...unknown[]][];
}

/** Values shorter than this are not searched for in lines: replacing every `1` or `ok` would mangle them. */
const minSecretLength = 4;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Masks sensitive values in what reads return (ReadPolicy applies it): the
 * values of sensitive labels, those values wherever the line repeats them,
 * sensitive `"key": value` / `key=value` fields inside lines, and, for records
 * observe-mode redaction marked, whatever its rules match. Counts what it
 * masked, so an unmasked read can say what it revealed.
 */
export class ReadMasker {
  private readonly exact: Set<string>;
  private readonly prefixes: string[];
  /** `key: value` / `key=value` of a sensitive name inside a line (JSON, logfmt, query strings). */
  private readonly inLine: RegExp | undefined;
  private readonly redactors: Redactor[];
  private readonly markLabel = labelNameOf(sensitiveMarkAttribute);
  /** What masking writes in place of values. */
  private readonly markers: string[];

  constructor(rules: MaskingRules) {
    const names = rules.fields.map((field) => labelNameOf(field.endsWith('*') ? field.slice(0, -1) : field));
    this.exact = new Set(names.filter((_, i) => !rules.fields[i]!.endsWith('*')));
    this.prefixes = names.filter((_, i) => rules.fields[i]!.endsWith('*'));
    const keyPatterns = rules.fields.map((field) => {
      const prefix = field.endsWith('*');
      const name = escapeRegex(prefix ? field.slice(0, -1) : field).replace(/\\\.|_/g, '[._]');
      return prefix ? `${name}[A-Za-z0-9_.]*` : name;
    });
    this.inLine =
      keyPatterns.length === 0
        ? undefined
        : new RegExp(
            `(?<![A-Za-z0-9_.])(["']?)(?:${keyPatterns.join('|')})\\1(\\s*[:=]\\s*)("(?:[^"\\\\]|\\\\.)*"|'[^']*'|\\[(?:MASKED|REDACTED)[^\\]]*\\]|[^\\s,;&}\\]]+)`,
            'g',
          );
    this.redactors = rules.observe ? redactorsOf({ ...rules.observe, hashKey: undefined }, (rule) => `[MASKED:${rule}]`) : [];
    this.markers = [
      maskMarker,
      ...(rules.observe
        ? [...rules.observe.rules, ...rules.observe.custom.map((rule) => rule.name)].map((rule) => `[MASKED:${rule}]`)
        : []),
    ];
  }

  /**
   * Masking for the query engine, for a reader who may not unmask: each entry
   * is masked before the first stage, so filters, parsers, templates and
   * groupings see only what the answer may show.
   */
  get queryMasking(): QueryMasking {
    return {
      labels: {
        isSensitive: (label) => this.isSensitive(label),
        anyValue: this.redactors.length > 0,
        markers: this.markers,
        marker: maskMarker,
      },
      maskEntry: (entry) => {
        const stream: LokiStream = { stream: Object.fromEntries(entry.labels), values: [[entry.timestampNs, entry.line]] };
        if (this.maskStream(stream) === 0) return;
        entry.line = stream.values[0]![1];
        for (const [name, value] of Object.entries(stream.stream)) entry.labels.set(name, value);
      },
    };
  }

  /** False when nothing is configured: reads pass through untouched. */
  get active(): boolean {
    return this.exact.size > 0 || this.prefixes.length > 0 || this.redactors.length > 0;
  }

  isSensitive(label: string): boolean {
    const name = labelNameOf(label);
    return this.exact.has(name) || this.prefixes.some((prefix) => name.startsWith(prefix));
  }

  /** Masks sensitive label values in place; returns how many. */
  maskLabels(labels: Record<string, string>): number {
    let masked = 0;
    for (const name of Object.keys(labels)) {
      if (this.isSensitive(name) && labels[name] !== maskMarker) {
        labels[name] = maskMarker;
        masked++;
      }
    }
    return masked;
  }

  /** Masks a stream's labels and lines in place; returns how many values were masked. */
  maskStream(stream: LokiStream): number {
    const labels = stream.stream;
    const secrets = Object.entries(labels)
      .filter(([name, value]) => this.isSensitive(name) && value.length >= minSecretLength && value !== maskMarker)
      .map(([, value]) => value)
      .sort((a, b) => b.length - a.length);
    const observed = this.redactors.length > 0 && labels[this.markLabel] !== undefined;
    let masked = this.maskLabels(labels);
    if (observed) {
      const counts = new Map<string, number>();
      for (const name of Object.keys(labels)) if (name !== this.markLabel) labels[name] = redact(labels[name]!, this.redactors, counts);
      for (const count of counts.values()) masked += count;
    }
    for (const entry of stream.values) {
      let line = entry[1];
      // Under categorize-labels an entry carries its structured metadata and parsed labels itself.
      const categories = (entry[2] ?? {}) as { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> };
      const own = [categories.structuredMetadata, categories.parsed].filter(
        (group): group is Record<string, string> => group !== undefined,
      );
      const entrySecrets = own.flatMap((group) =>
        Object.entries(group)
          .filter(([name, value]) => this.isSensitive(name) && value.length >= minSecretLength && value !== maskMarker)
          .map(([, value]) => value),
      );
      for (const group of own) masked += this.maskLabels(group);
      const entryObserved = observed || (this.redactors.length > 0 && own.some((group) => group[this.markLabel] !== undefined));
      if (entryObserved) {
        const counts = new Map<string, number>();
        for (const group of own)
          for (const name of Object.keys(group)) if (name !== this.markLabel) group[name] = redact(group[name]!, this.redactors, counts);
        for (const count of counts.values()) masked += count;
      }
      for (const secret of [...secrets, ...entrySecrets].sort((a, b) => b.length - a.length)) {
        const parts = line.split(secret);
        masked += parts.length - 1;
        line = parts.join(maskMarker);
      }
      if (this.inLine) {
        line = line.replace(this.inLine, (match: string, keyQuote: string, separator: string, value: string) => {
          // Already masked, or redacted at ingest: nothing of the secret is left to hide.
          if (value.startsWith('[MASKED') || value.startsWith('[REDACTED') || value === `"${maskMarker}"`) return match;
          masked++;
          const quoted = value.startsWith('"') || value.startsWith("'") ? value[0] : keyQuote === '"' ? '"' : '';
          return `${match.slice(0, match.length - value.length - separator.length)}${separator}${quoted}${maskMarker}${quoted}`;
        });
      }
      if (entryObserved) {
        const counts = new Map<string, number>();
        line = redact(line, this.redactors, counts);
        for (const count of counts.values()) masked += count;
      }
      entry[1] = line;
    }
    return masked;
  }
}
