import WebSocket from 'ws';
import type { RunningMeshlog } from '../test/support/meshlogProcess.js';

/** A live tail on one node and when (performance.now()) each of its lines arrived. */
export interface TailArrivals {
  node: RunningMeshlog;
  arrivals: Map<string, number>;
  close: () => void;
}

/**
 * Opens a Loki live tail: a node's tail is fed by its own writer right after
 * a commit, so a line's arrival is when the record became searchable on that node.
 */
export async function openTail(node: RunningMeshlog, tenant: string, query: string): Promise<TailArrivals> {
  const url = `${node.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${node.token}`, 'x-scope-orgid': tenant } });
  const arrivals = new Map<string, number>();
  socket.on('message', (data) => {
    const now = performance.now();
    const frame = JSON.parse(data.toString()) as { streams: { values: [string, string][] }[] };
    for (const series of frame.streams) for (const [, line] of series.values) if (!arrivals.has(line)) arrivals.set(line, now);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { node, arrivals, close: () => socket.close() };
}
