import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ClusterConfig } from './clusterConfig.js';

/**
 * One connection to the NATS cluster for this node. The client reconnects
 * forever and fails over between the listed servers (and those the cluster
 * gossips); a node that cannot reach NATS at start does not start.
 */
export async function connectNats(config: ClusterConfig, nodeId: string, logger: Logger): Promise<NatsConnection> {
  const { nats } = config;
  const tls = nats.tls && {
    ...(nats.tls.ca_file ? { caFile: nats.tls.ca_file } : {}),
    ...(nats.tls.cert_file ? { certFile: nats.tls.cert_file } : {}),
    ...(nats.tls.key_file ? { keyFile: nats.tls.key_file } : {}),
  };
  const connection = await connect({
    servers: nats.servers,
    name: `meshlog-${nodeId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(tls ? { tls } : {}),
    ...(nats.creds_file ? { authenticator: credsAuthenticator(readFileSync(nats.creds_file)) } : {}),
    ...(nats.token ? { token: nats.token } : {}),
    ...(nats.user ? { user: nats.user, pass: nats.password } : {}),
  });
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error')
        logger.warn({ nats: status.type, server: 'server' in status ? status.server : undefined }, 'NATS connection status');
    }
  })();
  logger.info({ servers: nats.servers, node: nodeId }, 'connected to NATS');
  return connection;
}
