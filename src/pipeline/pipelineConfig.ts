import { z } from 'zod';
import { flag, positiveInt, ruleName } from '../formats/configValues.js';
import { compileEnvoyFormat } from './parse/envoyFormat.js';
import { builtinRules, defaultRuleNames } from './redact/builtinRules.js';

/** A custom Envoy format must compile into a parser (see pipeline/parse/envoyFormat.ts). */
const envoyFormatOption = z
  .object({ name: ruleName, format: z.string().min(1), mesh: z.string().min(1).default('envoy') })
  .strict()
  .superRefine((value, ctx) => {
    try {
      compileEnvoyFormat(value.format, value.name, value.mesh);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['format'], message: (error as Error).message });
    }
  });

/** A custom redaction regex must compile and must not match the empty string (it would mark every position). */
const customRedactionRule = z
  .object({ name: ruleName, pattern: z.string().min(1) })
  .strict()
  .superRefine((value, ctx) => {
    try {
      if (new RegExp(value.pattern).test(''))
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'the pattern matches the empty string' });
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: (error as Error).message });
    }
  });

/** The `pipeline` config section: the ingest stages. */
export const pipelineSection = z
  .object({
    /** Recognise access logs, container lines, JSON and logfmt bodies; fill mesh fields, trace ids, severity, service. */
    parse: flag.default(true),
    /** Join stack traces (Java, Python, Go, Node) sent one line per record, within a request. */
    multiline: flag.default(true),
    /** Custom Envoy access log formats (`text_format` strings), tried before the built-in ones. */
    envoy_formats: z.array(envoyFormatOption).default([]),
    redaction: z
      .object({
        enabled: flag.default(true),
        /** `redact` rewrites secrets before storage; `observe` stores them, marks the record (`meshlog.sensitive`: the rules that matched) and masks them in query results instead. */
        mode: z.enum(['redact', 'observe']).default('redact'),
        /** Built-in rules; ipv4 and ipv6 are available but off by default. */
        rules: z.array(z.enum(Object.keys(builtinRules) as [string, ...string[]])).default([...defaultRuleNames]),
        /** Your own rules: the regex matches the secret only; the name shows in the marker and the metric. */
        custom: z.array(customRedactionRule).default([]),
        /** A file holding a secret key: secrets become keyed hashes (HMAC-SHA256) instead of a plain mask, so equal values still join. */
        hash_key_file: z.string().min(1).optional(),
        /** When not empty, only these log attribute keys are stored (`http.*` for a prefix): fail-closed. */
        attribute_allowlist: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ enabled: true, mode: 'redact', rules: [...defaultRuleNames], custom: [], attribute_allowlist: [] }),
  })
  .strict()
  .default({
    parse: true,
    multiline: true,
    envoy_formats: [],
    redaction: { enabled: true, mode: 'redact', rules: [...defaultRuleNames], custom: [], attribute_allowlist: [] },
  });

export type PipelineConfig = z.infer<typeof pipelineSection>;

/** The `patterns` config section: log template mining at ingest (see patterns/). */
export const patternsSection = z
  .object({
    enabled: flag.default(true),
    /** Share of a template's tokens a line must match to join it (Drain's similarity threshold). */
    similarity: z.coerce.number().min(0).max(1).default(0.7),
    /** Templates kept per tenant and service; past it the least recently seen is forgotten. */
    max_templates_per_service: positiveInt.default(5000),
    /** How often new and updated templates are written to the patterns table (also at shutdown). */
    flush_interval_ms: z.coerce.number().int().min(100).default(5000),
  })
  .strict()
  .default({ enabled: true, similarity: 0.7, max_templates_per_service: 5000, flush_interval_ms: 5000 });

export type PatternsConfig = z.infer<typeof patternsSection>;
