import { loadAgentConfig, type AgentConfig } from '../agent/agentConfig.js';
import { MeshlogAgent } from '../agent/agent.js';
import { ConfigError } from '../config/loadConfig.js';
import { createLogger } from '../observability/logger.js';

export interface AgentFlags {
  config?: string;
  server?: string[];
  token?: string;
  tenant?: string;
  path?: string[];
  dataDir?: string;
  httpPort?: string;
  kubernetes?: boolean;
  stdin?: boolean;
  logLevel?: string;
}

function serverFlags(urls: string[] | undefined): Record<string, unknown> {
  if (!urls || urls.length === 0) return {};
  return urls.length === 1 ? { server: urls[0] } : { servers: urls };
}

function flagTree(flags: AgentFlags, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const tree: Record<string, unknown> = {
    // One --server, or several (repeated or comma-separated): the nodes of a cluster, failed over in order.
    ...serverFlags(flags.server?.flatMap((value) => value.split(',')).filter((url) => url !== '')),
    token: flags.token ?? env.MESHLOG_TOKEN,
    tenant: flags.tenant,
    data_dir: flags.dataDir,
    http_port: flags.httpPort,
    log_level: flags.logLevel,
    stdin: flags.stdin,
  };
  if (flags.path && flags.path.length > 0) tree.files = [{ paths: flags.path }];
  if (flags.kubernetes) tree.kubernetes = { enabled: true };
  return Object.fromEntries(Object.entries(tree).filter(([, value]) => value !== undefined));
}

export async function agentCommand(flags: AgentFlags): Promise<void> {
  let config: AgentConfig;
  try {
    config = loadAgentConfig({ file: flags.config, env: process.env, flags: flagTree(flags, process.env) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`meshlog agent: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.log_level);
  const agent = await MeshlogAgent.start(config, logger);
  let stopping = false;
  /** `exitCode` 1: stdin ended with lines that were not sent. */
  const stop = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: what was read stays in the buffer for the next start');
    // With the buffer full the open batch cannot be sealed: exit anyway, its lines are read again at the next start.
    setTimeout(() => process.exit(exitCode), 10_000).unref();
    agent.stop().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  void agent.inputEnded.then(({ unsent }) => stop('input ended', unsent > 0 ? 1 : 0));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
