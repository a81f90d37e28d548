import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { waitUntil, type RunningAgent } from './agentProcess.js';
import type { RunningMeshlog } from './meshlogProcess.js';

/** A port nothing listens on now, for a server started (again) later on a fixed address. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Records the server dropped as redeliveries, over every receiver. */
export async function deduplicated(meshlog: RunningMeshlog): Promise<number> {
  const text = await (await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } })).text();
  return [...text.matchAll(/^meshlog_records_deduplicated_total\{[^}]*\} (\S+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Waits until the agent holds the whole file as acknowledged by the server. */
export async function waitAcknowledged(agent: RunningAgent, path: string): Promise<void> {
  await waitUntil(`${path} is acknowledged`, async () =>
    (await agent.sources()).some((source) => source.path === path && source.acked_offset === statSync(path).size),
  );
}
