import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { LedgerReplica } from '../model/ledgerReplica.js';
import type { ClusterConfig } from './clusterConfig.js';
import { openBucket } from './replicatedState.js';

const bucketName = 'meshlog_deletion_ledgers';

/** The lines of one node's ledger in the bucket (key `<node>.<line number>`), in order. */
async function linesOf(bucket: KV, node: string): Promise<string[]> {
  const numbered: { number: number; line: string }[] = [];
  for await (const key of await bucket.keys(`${node}.>`)) {
    const entry = await bucket.get(key);
    if (entry?.operation !== 'PUT') continue;
    numbered.push({ number: Number(key.slice(node.length + 1)), line: entry.string() });
  }
  return numbered.sort((a, b) => a.number - b.number).map((numbered) => numbered.line);
}

/**
 * Each node's deletion ledger, line by line, in the replicated bucket
 * `meshlog_deletion_ledgers` (kept for good): a node lost with its disk
 * gets its ledger back from there. The lines are already hash-chained and
 * signed; whoever reads them back checks both (deletionLedger.ts), so a line
 * changed in the bucket is refused, not used.
 */
export async function replicatedLedger(
  connection: NatsConnection,
  config: ClusterConfig,
  node: string,
  logger: Logger,
): Promise<LedgerReplica> {
  const bucket = await openBucket(connection, bucketName, { replicas: config.stream.replicas, history: 1 }, logger);
  return {
    put: async (number, line) => {
      await bucket.put(`${node}.${number}`, line);
    },
    lines: () => linesOf(bucket, node),
  };
}
