import type { MeshlogConfig } from '../config/schema.js';
import type { Stage } from './ingestPipeline.js';
import { meshParsingStage } from './meshParsingStage.js';
import { redactionStage, type RedactionReport } from './redactionStage.js';

/** The configured stages in their order: parse and normalize first, so redaction also sees the fields parsing extracted. */
export function pipelineStages(config: MeshlogConfig['pipeline'], reportRedactions: RedactionReport): Stage[] {
  const stages: Stage[] = [];
  if (config.parse) stages.push(meshParsingStage({ envoyFormats: config.envoy_formats, multiline: config.multiline }));
  if (config.redaction.enabled) stages.push(redactionStage(config.redaction, reportRedactions));
  return stages;
}
