/**
 * Shipping throughput of `meshlog agent`: a generated log file (SIZE_MB, default
 * 200) is tailed by the real agent and shipped to a running meshlog over
 * OTLP/HTTP until the server acknowledged its last byte. Prints lines/s, MB/s,
 * the agent's CPU time and peak RSS (from /proc, read just before it stops).
 *
 *   node dist/bench/agentShipping.js
 *   SIZE_MB=50 IN_FLIGHT=4 node dist/bench/agentShipping.js
 *   AGENT_NODE_OPTIONS=--max-old-space-size=64 node dist/bench/agentShipping.js   # the agent's heap capped
 */
import { createWriteStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { startAgent, waitUntil } from '../test/support/agentProcess.js';
import { startMeshlog, tempDataDir } from '../test/support/meshlogProcess.js';

const sizeBytes = Number(process.env.SIZE_MB ?? 200) * 1024 * 1024;
const ticksPerSecond = 100; // USER_HZ on Linux

const services = ['checkout', 'cart', 'payments', 'search', 'frontend', 'inventory'];
const paths = ['/api/v1/cart', '/api/v1/checkout', '/healthz', '/api/v2/search?q=shoes', '/static/app.js'];

/** Realistic mixed lines: Istio access logs, JSON app logs and plain text. */
function line(i: number): string {
  const service = services[i % services.length];
  const time = new Date(1_732_540_000_000 + i).toISOString();
  switch (i % 3) {
    case 0:
      return `[${time}] "GET ${paths[i % paths.length]} HTTP/1.1" ${i % 17 === 0 ? 503 : 200} - via_upstream - "-" 0 ${i % 9000} ${i % 250} ${i % 200} "-" "curl/8.5.0" "${i.toString(16).padStart(8, '0')}-6d84-929d-98bd-c5aee93b5c88" "${service}:8000" "10.44.1.27:80" outbound|8000||${service}.shop.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`;
    case 1:
      return JSON.stringify({ time, level: i % 11 === 0 ? 'error' : 'info', service, msg: 'order processed', order_id: i, duration_ms: i % 300 });
    default:
      return `${time} INFO ${service} worker-${i % 8} processed batch ${i} in ${i % 97} ms`;
  }
}

async function generate(path: string): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  let lines = 0;
  while (written < sizeBytes) {
    let chunk = '';
    for (let k = 0; k < 1000; k++) chunk += `${line(lines++)}\n`;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return lines;
}

function procStats(pid: number): { cpuSeconds: number; peakRssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
}

const root = tempDataDir('meshlog-bench-agent-');
mkdirSync(join(root, 'logs'));
const file = join(root, 'logs', 'app.log');
const lines = await generate(file);
const bytes = statSync(file).size;
const meshlog = await startMeshlog({ args: ['--log-level', 'info'] });
const started = Date.now();
const agent = await startAgent({
  server: meshlog.url,
  token: meshlog.token,
  data_dir: join(root, 'agent-data'),
  files: [{ paths: [join(root, 'logs', '*.log')] }],
  delivery: { max_in_flight: Number(process.env.IN_FLIGHT ?? 2) },
}, { env: process.env.AGENT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.AGENT_NODE_OPTIONS } : {} });
try {
  await waitUntil(
    'the whole file is acknowledged',
    async () => (await agent.sources()).some((source) => source.acked_offset === bytes),
    3_600_000,
  );
  const seconds = (Date.now() - started) / 1000;
  const { cpuSeconds, peakRssMiB } = procStats(agent.process.pid!);
  const retried = await agent.metric('meshlog_agent_batches_retried_total');
  console.log(
    `agent file→meshlog (${process.env.IN_FLIGHT ?? 2} in flight${process.env.AGENT_NODE_OPTIONS ? `, ${process.env.AGENT_NODE_OPTIONS}` : ''}): ${lines} lines, ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s: ` +
      `${Math.round(lines / seconds)} lines/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s; ` +
      `agent CPU ${cpuSeconds.toFixed(1)} s (${((cpuSeconds / seconds) * 100).toFixed(0)}% of a core), peak RSS ${peakRssMiB.toFixed(0)} MiB; ${retried} retries`,
  );
} finally {
  await agent.stop();
  await meshlog.stop();
}
