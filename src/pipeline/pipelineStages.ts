import { readFileSync } from 'node:fs';
import type { MeshlogConfig } from '../config/schema.js';
import type { Stage } from './ingestPipeline.js';
import { meshParsingStage, type UnparsedReport } from './meshParsingStage.js';
import { redactionStage, type RedactionReport } from './redactionStage.js';

/** The configured stages in their order: parse and normalize first, so redaction also sees the fields parsing extracted. */
export function pipelineStages(config: MeshlogConfig['pipeline'], reportRedactions: RedactionReport, reportUnparsed: UnparsedReport): Stage[] {
  const stages: Stage[] = [];
  if (config.parse) stages.push(meshParsingStage({ envoyFormats: config.envoy_formats, multiline: config.multiline, reportUnparsed }));
  const redaction = config.redaction;
  if (redaction.enabled) {
    const hashKey = redaction.hash_key_file === undefined ? undefined : readFileSync(redaction.hash_key_file);
    if (hashKey !== undefined && hashKey.length < 32) throw new Error(`pipeline.redaction.hash_key_file ${redaction.hash_key_file}: the key must be at least 32 bytes`);
    stages.push(
      redactionStage(
        { rules: redaction.rules, custom: redaction.custom, hashKey, attributeAllowlist: redaction.attribute_allowlist, observe: redaction.mode === 'observe' },
        reportRedactions,
      ),
    );
  }
  return stages;
}
