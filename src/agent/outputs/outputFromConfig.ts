import type { AgentConfig } from '../agentConfig.js';
import type { AgentOutput } from '../delivery/agentOutput.js';
import { elasticsearchOutput } from './elasticsearchOutput.js';
import { lokiOutput } from './lokiOutput.js';
import { otlpOutput } from './otlpOutput.js';

const defaultPaths = { otlp: '/v1/logs', loki: '/loki/api/v1/push', elasticsearch: '/_bulk' };

/** The output's endpoint on every server, in order: its url, or the protocol's standard path on each of `servers` (else `server`). */
export function agentOutputUrls(config: AgentConfig): string[] {
  if (config.output.url) return [config.output.url];
  return (config.servers ?? [config.server]).map((server) => `${server.replace(/\/+$/, '')}${defaultPaths[config.output.type]}`);
}

/** The configured output, at the first of its endpoints. */
export function agentOutput(config: AgentConfig): AgentOutput {
  const { type, index } = config.output;
  const url = agentOutputUrls(config)[0];
  if (type === 'loki') return lokiOutput(url, config.output.loki_encoding);
  if (type === 'elasticsearch') return elasticsearchOutput(url, index);
  return otlpOutput(url);
}
