import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RedactionResponse, RedactionSampleResponse } from '../api/redaction.js';
import type { MeshlogConfig } from '../config/schema.js';
import { redactionOptionsOf } from '../pipeline/pipelineStages.js';
import { builtinRules } from '../pipeline/redact/builtinRules.js';
import { redactionPreview } from '../pipeline/redactionPreview.js';
import { sensitiveMarkAttribute } from '../pipeline/redactionStage.js';
import { labelNameOf } from '../query/logql/labelName.js';
import type { ReadMasker } from '../query/readMasking.js';
import { parseJsonBody } from '../formats/jsonBody.js';

export interface RedactionRouteDeps {
  config: Pick<MeshlogConfig, 'pipeline' | 'masking'>;
  /** The server's read masking: what a reader without `unmasker` sees of an observe-mode record. */
  masker: ReadMasker;
}

const sampleBody = z.object({ line: z.string().max(65_536) }).strict();

/**
 * Redaction rules (admin): the active rules as configured (they are set in
 * the config file only, so this is read-only), and a sample line put through
 * the real redaction stage and read masking. Both are audited as admin reads
 * by the auth hook; the sample itself is never recorded.
 */
export function redactionRoutes(app: FastifyInstance, deps: RedactionRouteDeps): void {
  const redaction = deps.config.pipeline.redaction;
  const options = redaction.enabled ? redactionOptionsOf(redaction) : undefined;
  const preview = redactionPreview(options);
  const markLabel = labelNameOf(sensitiveMarkAttribute);

  app.get('/api/v1/admin/redaction', { config: { permission: 'admin', tenancy: 'none' } }, async (): Promise<RedactionResponse> => ({
    source: 'config',
    enabled: redaction.enabled,
    mode: redaction.mode,
    rules: [
      // The kept prefix (`password=`) as the lookbehind it acts as.
      ...redaction.rules.map((name) => {
        const rule = builtinRules[name]!;
        return { name, kind: 'builtin' as const, pattern: rule.prefix === undefined ? rule.pattern : `(?<=${rule.prefix})${rule.pattern}` };
      }),
      ...redaction.custom.map((rule) => ({ name: rule.name, kind: 'custom' as const, pattern: rule.pattern })),
    ],
    available: Object.keys(builtinRules).filter((name) => !redaction.rules.includes(name)),
    keyed_hash: redaction.hash_key_file !== undefined,
    attribute_allowlist: redaction.attribute_allowlist,
    masked_fields: deps.config.masking.fields,
  }));

  app.post(
    '/api/v1/admin/redaction/test',
    { config: { permission: 'admin', tenancy: 'none', readOnly: true } },
    async (request): Promise<RedactionSampleResponse> => {
      const { line } = parseJsonBody(sampleBody, request.body);
      const result = preview(line);
      let shown = result.stored;
      if (result.marked !== undefined) {
        const stream = { stream: { [markLabel]: result.marked }, values: [['0', result.stored] as [string, string]] };
        deps.masker.maskStream(stream);
        shown = stream.values[0]![1];
      }
      return {
        mode: redaction.enabled ? redaction.mode : 'off',
        stored: result.stored,
        shown,
        matches: result.matches,
        changed: shown !== line,
      };
    },
  );
}
