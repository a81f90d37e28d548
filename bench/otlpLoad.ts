import type { RunningMeshlog } from '../test/support/meshlogProcess.js';

/** The tenant every request of the cluster bench is sent under. */
export const benchTenant = 'bench';

/** The body of record `i` of request `seed` (what a live tail shows of it). */
export const lineOf = (seed: number, i: number) => `request ${seed}-${i} GET /api/cart/${i % 97} 200 in ${i % 50} ms user=${seed % 1000}`;

/** One OTLP/JSON request: `size` access-log-like records of `service`, each with its record id `<seed>-<i>` (log.record.uid). */
export function otlpBody(service: string, seed: number, size: number): string {
  const start = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [
          {
            logRecords: Array.from({ length: size }, (_, i) => ({
              timeUnixNano: String(start + BigInt(i)),
              severityNumber: 9,
              body: { stringValue: lineOf(seed, i) },
              attributes: [{ key: 'log.record.uid', value: { stringValue: `${seed}-${i}` } }],
            })),
          },
        ],
      },
    ],
  });
}

/** Posts one request and resolves once it is acknowledged (anything but 200 throws: the bench counts only acknowledged records). */
export async function post(node: RunningMeshlog, body: string): Promise<void> {
  const response = await fetch(`${node.url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json', 'x-scope-orgid': benchTenant },
    body,
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}`);
}

/**
 * `requests` requests of `batch` records from `clients` concurrent clients,
 * request n to `entries[n % entries.length]` (several entries: the load spread over the nodes).
 */
export async function sendConcurrently(
  entries: RunningMeshlog[],
  load: { requests: number; batch: number; clients: number; seedBase: number },
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: load.clients }, async () => {
      while (next < load.requests) {
        const n = next++;
        await post(entries[n % entries.length], otlpBody(`svc-${n % 6}`, load.seedBase + n, load.batch));
      }
    }),
  );
}
