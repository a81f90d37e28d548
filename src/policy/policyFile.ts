import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { roles } from '../security/identity.js';
import { isTenantName, tenantNameRule } from '../model/tenantName.js';

/** A stream or source selector: every key given must equal the record's value (service_name, mesh, cluster, platform). */
const selector = z
  .object({
    service: z.string().min(1).optional(),
    mesh: z.string().min(1).optional(),
    cluster: z.string().min(1).optional(),
    platform: z.string().min(1).optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, 'a selector names at least one of service, mesh, cluster, platform');

/** Fields a required source's records must carry: a column, or any other name as a log or resource attribute key. */
export const fieldColumns = {
  trace_id: "trace_id != ''",
  span_id: "span_id != ''",
  status: 'response_code != 0',
  severity: 'severity_number != 0',
  request_id: "request_id != ''",
  service: "service_name != ''",
} as const;

const name = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ . : - (at most 128)');
const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30d or 12h');
const role = z.enum(roles);

const requiredSource = z
  .object({
    name,
    selector,
    /** Fewer events than this per hour over the evaluation window is drift (0: only fields are checked). */
    min_events_per_hour: z.number().nonnegative().default(1),
    fields: z.array(z.string().min(1).max(256)).default([]),
  })
  .strict();

export const policySchema = z
  .object({
    /** Format of this file; only 1 exists. */
    policy_format: z.literal(1),
    tenant: z
      .string()
      .refine(isTenantName, tenantNameRule)
      .refine((value) => !value.startsWith('_'), 'tenants starting with _ are meshlog’s own'),
    /** The author's version label, e.g. 2026-12-07.1; meshlog numbers what it applies besides. */
    version: z.string().min(1).max(128),
    owner: z.string().min(1).max(256),
    description: z.string().max(4000).optional(),
    required_sources: z.array(requiredSource).default([]),
    /** Every stream of the tenant must match one of these selectors. */
    retention: z.array(z.object({ selector, max_age: duration }).strict()).default([]),
    /** Redaction rules (pipeline.redaction rules or custom names) and masked fields (masking.fields) that must be configured. */
    redaction: z
      .object({ rules: z.array(z.string().min(1)).default([]), masked_fields: z.array(z.string().min(1)).default([]) })
      .strict()
      .default({ rules: [], masked_fields: [] }),
    access: z
      .object({
        /** Most identities (active keys and users) that may hold a role on the tenant. */
        max_holders: z.partialRecord(role, z.number().int().positive()).default({}),
        /** Roles nobody may hold together on the tenant. */
        segregation_of_duties: z.array(z.object({ name, roles: z.array(role).min(2) }).strict()).default([]),
        /** Distinct people an erasure needs: 2 = whoever executes it is not who requested it. */
        erasure_people: z.number().int().min(1).max(2).default(1),
      })
      .strict()
      .default({ max_holders: {}, segregation_of_duties: [], erasure_people: 1 }),
    /** Alert rules (by alert name) that must exist in the tenant for a required source. */
    alert_coverage: z.array(z.object({ source: name, rules: z.array(z.string().min(1)).min(1) }).strict()).default([]),
  })
  .strict()
  .superRefine((policy, context) => {
    const names = new Set<string>();
    policy.required_sources.forEach((source, i) => {
      if (names.has(source.name))
        context.addIssue({ code: 'custom', path: ['required_sources', i, 'name'], message: `source "${source.name}" is named twice` });
      names.add(source.name);
    });
    policy.alert_coverage.forEach((coverage, i) => {
      if (!names.has(coverage.source))
        context.addIssue({
          code: 'custom',
          path: ['alert_coverage', i, 'source'],
          message: `no required source is named "${coverage.source}"`,
        });
    });
  });

export type LoggingPolicy = z.infer<typeof policySchema>;
export type Selector = LoggingPolicy['retention'][number]['selector'];

/** One thing wrong with a policy file, where it is (1-based line and column) and which key. */
export interface PolicyProblem {
  line: number;
  column: number;
  path: string;
  message: string;
}

export type PolicyParse = { ok: true; policy: LoggingPolicy } | { ok: false; problems: PolicyProblem[] };

/** Largest policy file taken: a policy is read by people, it is never this long. */
export const maxPolicyBytes = 1024 * 1024;

/** Parses and validates a policy file; every problem names its line, column and key path. */
export function parsePolicy(text: string): PolicyParse {
  if (Buffer.byteLength(text) > maxPolicyBytes)
    return { ok: false, problems: [{ line: 1, column: 1, path: '', message: `the file is larger than ${maxPolicyBytes} bytes` }] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lines.linePos(offset);
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => ({
        line: at(error.pos[0]).line,
        column: at(error.pos[0]).col,
        path: '',
        message: error.message.split('\n')[0]!,
      })),
    };
  }
  let json: unknown;
  try {
    // An alias bomb (anchors expanding to millions of nodes) is refused, not expanded.
    json = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ line: 1, column: 1, path: '', message: (error as Error).message }] };
  }
  const result = policySchema.safeParse(json ?? {});
  if (result.success) return { ok: true, policy: result.data };
  return {
    ok: false,
    problems: result.error.issues
      .map((issue) => {
        // An unknown key is found at the key itself, not at the map holding it.
        const located = [...issue.path, ...(issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [])] as (string | number)[];
        const path = located.map(String);
        const offset = offsetOf(doc, located, issue.code === 'unrecognized_keys');
        const { line, col } = at(offset);
        const message =
          issue.code === 'invalid_type' && / received undefined$/.test(issue.message) ? 'required, and missing' : issue.message;
        return { line, column: col, path: path.join('.'), message };
      })
      .sort((a, b) => a.line - b.line || a.column - b.column),
  };
}

/** Where the deepest existing node of a key path starts (its key with `atKey`, else its value); a missing key's parent. */
function offsetOf(doc: Document, path: (string | number)[], atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const [depth, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair) return offset;
      offset = (pair.key as Node).range?.[0] ?? offset;
      if (atKey && depth === path.length - 1) return offset;
      node = pair.value;
      if ((node as Node | null)?.range && !isMap(node) && !isSeq(node)) offset = (node as Node).range![0];
    } else if (isSeq(node) && typeof key === 'number' && node.items[key]) {
      node = node.items[key];
      offset = (node as Node).range?.[0] ?? offset;
    } else return offset;
  }
  return offset;
}

/** `line:column path: message`, one a line, as `meshlog policy check` and the API print them. */
export function describeProblems(file: string, problems: PolicyProblem[]): string {
  return problems
    .map((problem) => `${file}:${problem.line}:${problem.column}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`)
    .join('\n');
}

/** Whether a stream's labels match a selector. */
export function selects(selector: Selector, stream: { service: string; mesh: string; cluster: string; platform: string }): boolean {
  return (Object.keys(selector) as (keyof Selector)[]).every((key) => selector[key] === undefined || selector[key] === stream[key]);
}
