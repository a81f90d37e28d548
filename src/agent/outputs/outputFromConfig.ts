import type { AgentConfig } from '../agentConfig.js';
import type { AgentOutput } from './agentOutput.js';
import { elasticsearchOutput } from './elasticsearchOutput.js';
import { lokiOutput } from './lokiOutput.js';
import { otlpOutput } from './otlpOutput.js';

const defaultPaths = { otlp: '/v1/logs', loki: '/loki/api/v1/push', elasticsearch: '/_bulk' };

/** The configured output; without a url, the protocol's standard path on `server`. */
export function agentOutput(config: AgentConfig): AgentOutput {
  const { type, index } = config.output;
  const url = config.output.url ?? `${config.server.replace(/\/+$/, '')}${defaultPaths[type]}`;
  if (type === 'loki') return lokiOutput(url, config.output.loki_encoding);
  if (type === 'elasticsearch') return elasticsearchOutput(url, index);
  return otlpOutput(url);
}
