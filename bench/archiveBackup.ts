/**
 * Archive export / offline verify and backup / restore (with its verification)
 * over RECORDS records of one tenant, through the real CLI and server.
 * Prints one line per case: records/s and output size.
 *
 *   node dist/bench/archiveBackup.js           # 200,000 records
 *   RECORDS=50000 node dist/bench/archiveBackup.js
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMeshlog, tempDataDir } from '../test/support/meshlogProcess.js';
import { postOtlpJson } from '../test/support/otlpJson.js';

const totalRecords = Number(process.env.RECORDS ?? 200_000);
const perRequest = 2000;
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function body(seed: number): string {
  const start = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${seed % 6}` } }] },
        scopeLogs: [
          {
            logRecords: Array.from({ length: perRequest }, (_, i) => ({
              timeUnixNano: (start + BigInt(i)).toString(),
              severityNumber: 9,
              body: { stringValue: `order ${seed * perRequest + i} processed in ${i % 250}ms (cache ${i % 3 ? 'hit' : 'miss'})` },
              attributes: [{ key: 'http.route', value: { stringValue: `/api/orders/${i % 40}` } }],
            })),
          },
        ],
      },
    ],
  });
}

function sizeOf(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0);
}

function timed(name: string, args: string[], outDir?: string): void {
  const started = performance.now();
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`${name} failed (${run.status}): ${run.stdout}${run.stderr}`);
  const size = outDir ? `, ${(sizeOf(outDir) / 1e6).toFixed(1)} MB` : '';
  console.log(
    `${name.padEnd(24)} ${totalRecords} records in ${seconds.toFixed(2)} s = ${Math.round(totalRecords / seconds)} records/s${size}`,
  );
}

const meshlog = await startMeshlog({ args: ['--log-level', 'info'] });
for (let sent = 0; sent < totalRecords; sent += perRequest) {
  const response = await postOtlpJson(meshlog.url, meshlog.token, body(sent / perRequest), { 'x-scope-orgid': 'bench' });
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}`);
}
const work = tempDataDir('meshlog-bench-archive-');
const server = ['--server', meshlog.url, '--token', meshlog.token];
timed(
  'archive export',
  ['archive', 'export', '--tenant', 'bench', '--from', '1h', '--out', join(work, 'archive'), ...server],
  join(work, 'archive'),
);
timed('archive verify (offline)', ['archive', 'verify', join(work, 'archive'), '--data-dir', meshlog.dataDir]);
await meshlog.stop();
timed('backup', ['backup', '--data-dir', meshlog.dataDir, '--out', join(work, 'backup')], join(work, 'backup'));
timed('restore + verify', ['restore', '--from', join(work, 'backup'), '--data-dir', join(work, 'restored')]);
