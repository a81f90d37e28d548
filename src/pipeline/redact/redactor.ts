import type { RedactionRule } from './builtinRules.js';

/** Redactions per rule name, counted as they happen; values are never kept. */
export type RedactionCounts = Map<string, number>;

interface CompiledRule {
  rule: RedactionRule;
  gate: RegExp | undefined;
  regex: RegExp;
}

/** What a secret is replaced by: `[REDACTED:<rule>]` unless a replacement (keyed hash) is given. */
export type Replacement = (rule: string, secret: string) => string;

const mask: Replacement = (rule) => `[REDACTED:${rule}]`;

/**
 * Applies rules one after the other, replacing what each matches (by
 * `[REDACTED:<rule>]` unless told otherwise). Most values contain no secret: one scan for any rule's gate (`@`,
 * `eyJ`, four digits…) clears them; only a value that has a gate meets the
 * rules' own regexes.
 */
export class Redactor {
  private readonly compiled: CompiledRule[];
  /** Any rule's gate; undefined when a rule has none (user rules), and every value is scanned. */
  private readonly anyGate: RegExp | undefined;

  constructor(
    rules: RedactionRule[],
    private readonly replacement: Replacement = mask,
  ) {
    this.compiled = rules.map((rule) => ({
      rule,
      gate: rule.gate === undefined ? undefined : new RegExp(rule.gate),
      // The prefix (`://user:`, `password=`) locates the secret and is kept; a lookbehind would cost a backwards scan at every position.
      regex: new RegExp(rule.prefix === undefined ? rule.pattern : `(${rule.prefix})(?:${rule.pattern})`, 'g'),
    }));
    const gated = rules.every((rule) => rule.gate !== undefined);
    this.anyGate = gated ? new RegExp(rules.map((rule) => `(?:${rule.gate})`).join('|')) : undefined;
  }

  /**
   * False when no rule matches anywhere in the text, so `redact` would return
   * it unchanged; true when one might (a match its `accept` check may still
   * refuse), and always without gates (user rules are not screened).
   */
  mayRedact(text: string): boolean {
    if (this.anyGate === undefined) return true;
    // Rule by rule: on a long text, each simple gate finds its first character faster than their alternation does.
    for (const { gate, regex } of this.compiled) {
      if (gate !== undefined && !gate.test(text)) continue;
      regex.lastIndex = 0;
      if (regex.test(text)) return true;
    }
    return false;
  }

  /** The text with every accepted match replaced; the same string when nothing matched. */
  redact(text: string, counts: RedactionCounts): string {
    if (this.anyGate !== undefined && !this.anyGate.test(text)) return text;
    let out = text;
    for (const { rule, gate, regex } of this.compiled) {
      if (gate !== undefined && !gate.test(out)) continue;
      regex.lastIndex = 0;
      if (!regex.test(out)) continue;
      let count = 0;
      out = out.replace(regex, (match: string, ...groups: unknown[]) => {
        const prefix = rule.prefix === undefined ? '' : (groups[0] as string);
        const secret = match.slice(prefix.length);
        if (rule.accept && !rule.accept(secret)) return match;
        count++;
        return prefix + this.replacement(rule.name, secret);
      });
      if (count > 0) counts.set(rule.name, (counts.get(rule.name) ?? 0) + count);
    }
    return out;
  }
}
