import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentMetrics } from './agentMetrics.js';
import type { Source } from './source.js';

/** Reconciliation: per source, what was read and what the server acknowledged. */
export function sourceReport(sources: Iterable<Source>): object[] {
  return [...sources].map((source) => ({
    key: source.key,
    path: source.path,
    active: source.active,
    lines_read: source.linesRead,
    lines_acked: source.linesAcked,
    read_offset: source.resumeOffset(),
    acked_offset: source.ackedOffset,
    size: source.size,
  }));
}

/** `/metrics`, `/ready` and `/sources` on a small HTTP port of the agent's own. */
export async function startAgentHttp(
  host: string,
  port: number,
  parts: { metrics: AgentMetrics; ready: () => boolean; sources: () => Iterable<Source> },
): Promise<{ server: Server; address: string }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      parts.metrics.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': parts.metrics.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    } else if (path === '/ready') {
      const ready = parts.ready();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'starting\n');
    } else if (path === '/sources') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sourceReport(parts.sources())));
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return { server, address: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` };
}
