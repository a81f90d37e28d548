import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MeshlogError } from '../../errors.js';
import type { MetricExpr } from '../../query/logql/ast.js';
import { isMetric } from '../../query/logql/evaluateMetric.js';
import { parseLogql } from '../../query/logql/parser.js';
import { parseLokiDuration } from '../../query/lokiParams.js';

/** One alerting rule of a Loki ruler group, checked and compiled. */
export interface AlertRule {
  alert: string;
  exprText: string;
  expr: MetricExpr;
  forMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** meshlog: each firing opens an incident (or joins the open one of the same alert), see docs/incidents.md. */
  openIncident: boolean;
}

export interface RuleGroup {
  tenant: string;
  /** Loki's namespace: the file (or API namespace) the group came from. */
  namespace: string;
  name: string;
  intervalMs: number | undefined;
  rules: AlertRule[];
}

const labelMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a label name'), z.string()).default({});

/** Loki ruler YAML (the Prometheus rule-group format); recording rules are not supported. */
const groupSchema = z
  .object({
    name: z.string().min(1),
    interval: z.string().optional(),
    /** meshlog: the tenant whose logs the group reads (files only; API groups belong to the caller's tenant). */
    tenant: z.string().min(1).optional(),
    rules: z
      .array(
        z
          .object({
            alert: z.string().regex(/^[A-Za-z_][A-Za-z0-9_:]*$/, 'an alert name (letters, digits, _ and :)'),
            expr: z.string().min(1),
            for: z.string().optional(),
            labels: labelMap,
            annotations: labelMap,
            /** meshlog: open an incident when an alert of this rule fires. */
            open_incident: z.boolean().default(false),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export const ruleFileSchema = z.object({ groups: z.array(groupSchema) }).strict();

type GroupInput = z.infer<typeof groupSchema>;

const defaultCriteria = 'CC7.2';

function durationMs(text: string, what: string): number {
  return Number(parseLokiDuration(text, what) / 1_000_000n);
}

function compileGroup(input: GroupInput, tenant: string, namespace: string): RuleGroup {
  return {
    tenant,
    namespace,
    name: input.name,
    intervalMs: input.interval ? durationMs(input.interval, `${input.name}.interval`) : undefined,
    rules: input.rules.map((rule) => {
      let expr;
      try {
        expr = parseLogql(rule.expr);
      } catch (error) {
        throw new MeshlogError('ML_QUERY_INVALID', `group ${input.name}, alert ${rule.alert}: ${(error as Error).message}`);
      }
      if (!isMetric(expr))
        throw new MeshlogError('ML_QUERY_INVALID', `group ${input.name}, alert ${rule.alert}: the expression must be a metric query`);
      return {
        alert: rule.alert,
        exprText: rule.expr,
        expr,
        forMs: rule.for ? durationMs(rule.for, `${rule.alert}.for`) : 0,
        // Alerts are reported per SOC 2 control: monitoring rules evidence CC7.2 unless they say otherwise.
        labels: { criteria: defaultCriteria, ...rule.labels },
        annotations: rule.annotations,
        openIncident: rule.open_incident,
      };
    }),
  };
}

function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ');
}

/** A rules file: `groups:` of alerting rules; a group without `tenant:` reads `defaultTenant`. */
export function parseRuleFile(text: string, namespace: string, defaultTenant: string): RuleGroup[] {
  const parsed = ruleFileSchema.safeParse(parseYaml(text));
  if (!parsed.success) throw new MeshlogError('ML_QUERY_INVALID', `rules ${namespace}: ${issues(parsed.error)}`);
  return parsed.data.groups.map((group) => compileGroup(group, group.tenant ?? defaultTenant, namespace));
}

/** One group as Loki's ruler API takes it (`POST /loki/api/v1/rules/{namespace}`), for the caller's tenant. */
export function parseRuleGroup(text: string, namespace: string, tenant: string): RuleGroup {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new MeshlogError('ML_QUERY_INVALID', `not YAML: ${(error as Error).message}`);
  }
  const parsed = groupSchema.omit({ tenant: true }).strict().safeParse(document);
  if (!parsed.success) throw new MeshlogError('ML_QUERY_INVALID', `rule group: ${issues(parsed.error)}`);
  return compileGroup(parsed.data, tenant, namespace);
}
