import { withRole } from '../cluster/clusterRole.js';
import { ConfigError, loadConfig } from '../config/loadConfig.js';
import { createLogger, defaultLogFormat } from '../observability/logger.js';
import { MeshlogServer } from '../server/meshlogServer.js';
import { plannedPorts, unavailablePorts } from '../server/portCheck.js';
import { startupSummary } from '../server/startupSummary.js';

interface StartFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  httpPort?: string;
  clickhouseUrl?: string;
  database?: string;
  auth?: string;
  logLevel?: string;
  logFormat?: string;
  maxBodyBytes?: string;
  rejectOldSamplesMaxAge?: string;
  creationGracePeriod?: string;
  forwardPort?: string;
  /** false only with --no-forward (commander's negatable flags default to true). */
  forward?: boolean;
  syslogPort?: string;
  syslogTlsPort?: string;
  syslog?: boolean;
  otlpGrpcPort?: string;
  otlpGrpc?: boolean;
  /** cluster.role: all, gateway or writer. */
  role?: string;
}

/** A listener's section from its port flag and --no-<listener>; undefined when neither was given. */
function listenerFlags(entries: Record<string, string | undefined>, enabled: boolean | undefined): Record<string, unknown> | undefined {
  const section: Record<string, unknown> = Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
  if (enabled === false) section.enabled = false;
  return Object.keys(section).length > 0 ? section : undefined;
}

function flagTree(flags: StartFlags): Record<string, unknown> {
  const tree: Record<string, unknown> = {
    data_dir: flags.dataDir,
    host: flags.host,
    http_port: flags.httpPort,
    clickhouse_url: flags.clickhouseUrl,
    database: flags.database,
    auth: flags.auth,
    log_level: flags.logLevel,
    log_format: flags.logFormat,
  };
  const ingest: Record<string, unknown> = {};
  if (flags.maxBodyBytes !== undefined) ingest.max_body_bytes = flags.maxBodyBytes;
  if (flags.rejectOldSamplesMaxAge !== undefined) ingest.reject_old_samples_max_age = flags.rejectOldSamplesMaxAge;
  if (flags.creationGracePeriod !== undefined) ingest.creation_grace_period = flags.creationGracePeriod;
  if (Object.keys(ingest).length > 0) tree.ingest = ingest;
  tree.forward = listenerFlags({ port: flags.forwardPort }, flags.forward);
  tree.syslog = listenerFlags({ tcp_port: flags.syslogPort, udp_port: flags.syslogPort, tls_port: flags.syslogTlsPort }, flags.syslog);
  tree.otlp_grpc = listenerFlags({ port: flags.otlpGrpcPort }, flags.otlpGrpc);
  if (flags.role !== undefined) tree.cluster = { role: flags.role };
  return Object.fromEntries(Object.entries(tree).filter(([, value]) => value !== undefined));
}

export async function startCommand(flags: StartFlags): Promise<void> {
  let config;
  try {
    config = withRole(loadConfig({ file: flags.config, env: process.env, flags: flagTree(flags) }));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`meshlog: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Every port is checked before anything is created on disk (data dir, admin token, keys): a port
  // another process holds is a one-line answer naming what moves it, and nothing is left behind.
  const problems = await unavailablePorts(plannedPorts(config));
  if (problems.length > 0) {
    process.stderr.write(`meshlog: cannot start: ${problems.join('; ')}\n`);
    process.exit(2);
  }
  const format = config.log_format ?? defaultLogFormat();
  const logger = createLogger(config.log_level, format);
  const server = new MeshlogServer(config, logger);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new requests, committing what was accepted');
    const deadline = setTimeout(() => {
      logger.error('graceful stop timed out; exiting');
      process.exit(1);
    }, config.shutdown_timeout_ms);
    deadline.unref();
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    server.reloadCertificates();
    void server.reloadStorageKeys();
  });

  try {
    const facts = await server.start();
    if (format === 'pretty') process.stdout.write(`\n${startupSummary(config, facts)}\n`);
  } catch (error) {
    // Taken between the check and the bind (a race with another process): still a plain answer.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      process.stderr.write(`meshlog: cannot start: ${(error as Error).message}; see meshlog start --help for the port flags\n`);
      await server.stop().catch(() => undefined);
      process.exit(2);
    }
    logger.fatal({ err: error }, 'meshlog could not start');
    await server.stop().catch(() => undefined);
    process.exit(1);
  }
}
