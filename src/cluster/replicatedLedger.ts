import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { LedgerReplica, ReplicatedLedgerCopy, ReplicatedLedgers } from '../model/ledgerReplica.js';
import type { ClusterConfig } from './clusterConfig.js';
import { openBucket } from './replicatedState.js';

const bucketName = 'meshlog_deletion_ledgers';

/** The lines of one node's ledger in the bucket (key `<node>.<line number>`), in order. */
async function linesOf(bucket: KV, node: string): Promise<Map<number, string>> {
  const numbered = new Map<number, string>();
  for await (const key of await bucket.keys(`${node}.>`)) {
    const entry = await bucket.get(key);
    if (entry?.operation !== 'PUT') continue;
    numbered.set(Number(key.slice(node.length + 1)), entry.string());
  }
  return numbered;
}

const inOrder = (numbered: Map<number, string>) => [...numbered.entries()].sort(([a], [b]) => a - b).map(([, line]) => line);

/**
 * One node's ledger with what the bucket lacks of it: line numbers with
 * nothing (below the last line held) and lines deleted, whose marker the
 * bucket keeps. A line removed in the middle also breaks the chain; lines
 * deleted at the end leave only their markers, which is how a ledger cut
 * short in the bucket is told from one that ends there.
 */
async function copyOf(bucket: KV, node: string): Promise<ReplicatedLedgerCopy> {
  const numbered = await linesOf(bucket, node);
  const last = Math.max(0, ...numbered.keys());
  const missing: number[] = [];
  const deleted: number[] = [];
  for (let number = 1; ; number++) {
    if (numbered.has(number)) continue;
    const entry = await bucket.get(`${node}.${number}`);
    if (entry?.operation === 'PUT') numbered.set(number, entry.string());
    else if (entry) deleted.push(number);
    else if (number < last) missing.push(number);
    else break;
  }
  return { node, lines: inOrder(numbered), missing, deleted };
}

const openLedgerBucket = (connection: NatsConnection, config: ClusterConfig, logger: Logger) =>
  openBucket(connection, bucketName, { replicas: config.stream.replicas, history: 1 }, logger);

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
  const bucket = await openLedgerBucket(connection, config, logger);
  return {
    put: async (number, line) => {
      await bucket.put(`${node}.${number}`, line);
    },
    lines: async () => inOrder(await linesOf(bucket, node)),
  };
}

/** Every node's ledger as the bucket holds it, for an operator fetching the ledger of a node lost with its disk. */
export async function replicatedLedgers(connection: NatsConnection, config: ClusterConfig, logger: Logger): Promise<ReplicatedLedgers> {
  const bucket = await openLedgerBucket(connection, config, logger);
  return (node) => copyOf(bucket, node);
}
