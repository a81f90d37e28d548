import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMeshlog, tempDataDir, type RunningMeshlog } from './meshlogProcess.js';
import { readCommitted } from './storageReader.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** One meshlog node of a test cluster: its config file and data directory outlive its process. */
export interface ClusterNode {
  id: string;
  config: string;
  dataDir: string;
  meshlog: RunningMeshlog;
}

/** A config file that makes a node of the cluster on these NATS servers (`natsYaml`: more settings under cluster.nats, indented 4). */
export function clusterConfigFile(nodeId: string, servers: string[], natsYaml = ''): string {
  const file = join(tempDataDir('meshlog-config-'), 'meshlog.yaml');
  writeFileSync(file, `cluster:\n  enabled: true\n  node_id: ${nodeId}\n  nats:\n    servers: [${servers.join(', ')}]\n${natsYaml}`);
  return file;
}

/** Starts (or restarts, on its data directory) a node. */
export async function startClusterNode(id: string, config: string, dataDir?: string, args: string[] = []): Promise<ClusterNode> {
  const meshlog = await startMeshlog({ dataDir, args: ['--config', config, ...args] });
  return { id, config, dataDir: meshlog.dataDir, meshlog };
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** Loki push of lines without record ids (what most shippers send), under service_name `job`. */
export async function pushLokiLines(
  node: { url: string; token: string },
  tenant: string,
  job: string,
  lines: string[],
  token = node.token,
): Promise<number> {
  const firstNs = nowNs();
  const body = JSON.stringify({
    streams: [{ stream: { service_name: job }, values: lines.map((line, i) => [String(firstNs + BigInt(i)), line]) }],
  });
  const response = await fetch(`${node.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-scope-orgid': tenant },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** How many times each body of a job is stored in a stopped node's data directory. */
export async function storedCounts(dataDir: string, job: string): Promise<Map<string, number>> {
  const rows = await readCommitted<{ body: string; n: string }>(
    dataDir,
    `SELECT body, count() AS n FROM meshlog.logs WHERE service_name = '${job}' GROUP BY body`,
  );
  return new Map(rows.map((row) => [row.body, Number(row.n)]));
}

/** `meshlog verify` on a stopped node's data directory finds nothing wrong. */
export function assertVerifiesClean(dataDir: string): void {
  const verify = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dataDir], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^OK — /m);
}
