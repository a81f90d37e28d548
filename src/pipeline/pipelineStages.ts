import { readFileSync } from 'node:fs';
import type { PipelineConfig } from './pipelineConfig.js';
import type { Stage } from './ingestPipeline.js';
import { meshParsingStage, type UnparsedReport } from './meshParsingStage.js';
import { redactionStage, type RedactionOptions, type RedactionReport } from './redactionStage.js';
import { serviceNameStage } from './serviceNameStage.js';

/** The configured stages in their order: parse and normalize first, so redaction also sees the fields parsing extracted; every record leaves with a service name. */
export function pipelineStages(config: PipelineConfig, reportRedactions: RedactionReport, reportUnparsed: UnparsedReport): Stage[] {
  const stages: Stage[] = [];
  if (config.parse) stages.push(meshParsingStage({ envoyFormats: config.envoy_formats, multiline: config.multiline, reportUnparsed }));
  // After parsing (a parsed line may name its service), before redaction (which may rewrite the attributes it reads).
  stages.push(serviceNameStage());
  if (config.redaction.enabled) stages.push(redactionStage(redactionOptionsOf(config.redaction), reportRedactions));
  return stages;
}

/** The redaction stage's options from its config section (the hash key read from its file). */
export function redactionOptionsOf(redaction: PipelineConfig['redaction']): RedactionOptions {
  const hashKey = redaction.hash_key_file === undefined ? undefined : readFileSync(redaction.hash_key_file);
  if (hashKey !== undefined && hashKey.length < 32)
    throw new Error(`pipeline.redaction.hash_key_file ${redaction.hash_key_file}: the key must be at least 32 bytes`);
  return {
    rules: redaction.rules,
    custom: redaction.custom,
    hashKey,
    attributeAllowlist: redaction.attribute_allowlist,
    observe: redaction.mode === 'observe',
  };
}
