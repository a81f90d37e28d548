/**
 * Shipping one log file to one running meshlog, two ways in the same run:
 * `meshlog agent` (OTLP/HTTP, acknowledged) and rsyslog's imfile (RFC 5424
 * over TCP, octet-counted, to meshlog's syslog listener). For each: lines/s
 * until the server committed the whole file, the shipper's CPU time and peak
 * RSS (from /proc, read just before it stops).
 *
 *   node dist/bench/agentShipping.js                       # a 1 GiB file
 *   node dist/bench/agentShipping.js --size-mb 100 --in-flight 4
 *   node dist/bench/agentShipping.js --only agent --agent-node-options=--max-old-space-size=64
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { startAgent, waitUntil } from '../test/support/agentProcess.js';
import { committedCount } from '../test/support/committedCount.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../test/support/meshlogProcess.js';

const { values: flags } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    'in-flight': { type: 'string', default: '4' },
    'agent-node-options': { type: 'string' },
    /** Node flags of the agent and of the server, space-separated (`--cpu-prof --cpu-prof-dir=/tmp/prof`: where the time goes). */
    'agent-node-args': { type: 'string' },
    'server-node-args': { type: 'string' },
    /** Where the agent's own output goes once it stopped (what --trace-gc printed). */
    'agent-output': { type: 'string' },
    only: { type: 'string' },
  },
});
const nodeArgs = (flag: string | undefined): string[] => flag?.split(' ').filter(Boolean) ?? [];
const sizeBytes = Number(flags['size-mb']) * 1024 * 1024;
/** Generous for a loaded machine: 1 GiB at 1,000 lines/s is under two hours. */
const shipTimeoutMs = Math.max(3_600_000, Number(flags['size-mb']) * 8_000);
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
      return JSON.stringify({
        time,
        level: i % 11 === 0 ? 'error' : 'info',
        service,
        msg: 'order processed',
        order_id: i,
        duration_ms: i % 300,
      });
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

/** CPU seconds (user + system, all threads) a process used so far. */
function cpuSeconds(pid: number): number {
  return procStats(pid).cpuSeconds;
}

function report(
  name: string,
  lines: number,
  bytes: number,
  seconds: number,
  stats: { cpuSeconds: number; peakRssMiB: number },
  serverCpuSeconds: number,
  extra = '',
): void {
  const perLine = (cpu: number) => `${((cpu / lines) * 1e6).toFixed(1)} µs/line`;
  console.log(
    `${name}: ${lines} lines, ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s: ${Math.round(lines / seconds)} lines/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s; ` +
      `shipper CPU ${stats.cpuSeconds.toFixed(1)} s (${perLine(stats.cpuSeconds)}, ${((stats.cpuSeconds / seconds) * 100).toFixed(0)}% of a core), peak RSS ${stats.peakRssMiB.toFixed(0)} MiB; ` +
      `server CPU ${serverCpuSeconds.toFixed(1)} s (${perLine(serverCpuSeconds)})${extra}`,
  );
}

async function shipWithAgent(meshlog: RunningMeshlog, root: string, file: string, lines: number, bytes: number): Promise<void> {
  const serverCpu = cpuSeconds(meshlog.process.pid!);
  const started = Date.now();
  const agent = await startAgent(
    {
      server: meshlog.url,
      token: meshlog.token,
      data_dir: join(root, 'agent-data'),
      files: [{ paths: [file] }],
      delivery: { max_in_flight: Number(flags['in-flight']) },
    },
    { env: flags['agent-node-options'] ? { NODE_OPTIONS: flags['agent-node-options'] } : {}, nodeArgs: nodeArgs(flags['agent-node-args']) },
  );
  try {
    await waitUntil(
      'the whole file is acknowledged',
      async () => (await agent.sources()).some((source) => source.acked_offset === bytes),
      shipTimeoutMs,
    );
    const seconds = (Date.now() - started) / 1000;
    const retried = await agent.metric('meshlog_agent_batches_retried_total');
    const options = `${flags['in-flight']} in flight${flags['agent-node-options'] ? `, ${flags['agent-node-options']}` : ''}`;
    report(
      `meshlog agent → OTLP/HTTP (${options})`,
      lines,
      bytes,
      seconds,
      procStats(agent.process.pid!),
      cpuSeconds(meshlog.process.pid!) - serverCpu,
      `; ${retried} retries`,
    );
  } finally {
    await agent.stop();
    if (flags['agent-output']) writeFileSync(flags['agent-output'], agent.output());
  }
}

async function shipWithRsyslog(meshlog: RunningMeshlog, root: string, file: string, lines: number, bytes: number): Promise<void> {
  const dir = join(root, 'rsyslog');
  mkdirSync(join(dir, 'work'), { recursive: true });
  const port = meshlog.listeners.syslog_tcp.split(':').pop();
  const config = join(dir, 'rsyslog.conf');
  writeFileSync(
    config,
    `global(workDirectory="${dir}/work" maxMessageSize="64k")
module(load="imfile")
input(type="imfile" file="${file}" tag="bench:" ruleset="toMeshlog")
ruleset(name="toMeshlog") {
  action(type="omfwd" target="127.0.0.1" port="${port}" protocol="tcp" tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}
`,
  );
  const before = await committedCount(meshlog, 'syslog_tcp');
  const serverCpu = cpuSeconds(meshlog.process.pid!);
  const started = Date.now();
  // rsyslog's own messages (suspended actions and retries) are not figures: kept for a failure only.
  const rsyslog = spawn('rsyslogd', ['-n', '-f', config, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let messages = '';
  rsyslog.stderr!.on('data', (chunk: Buffer) => (messages = (messages + chunk.toString()).slice(-4000)));
  const exited = new Promise((resolve) => rsyslog.once('exit', resolve));
  try {
    await waitUntil(
      'every line is committed',
      async () => (await committedCount(meshlog, 'syslog_tcp')) - before >= lines,
      shipTimeoutMs,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; rsyslog said:\n${messages}`);
    });
    const seconds = (Date.now() - started) / 1000;
    report(
      'rsyslog imfile → syslog TCP (RFC 5424, octet-counted)',
      lines,
      bytes,
      seconds,
      procStats(rsyslog.pid!),
      cpuSeconds(meshlog.process.pid!) - serverCpu,
    );
  } finally {
    rsyslog.kill('SIGTERM');
    await exited;
  }
}

// Everything the run writes (the file, the agent's buffer, the server's data and keys) lives under root, removed at the end.
const root = tempDataDir('meshlog-bench-agent-');
mkdirSync(join(root, 'logs'));
mkdirSync(join(root, 'server'));
const file = join(root, 'logs', 'app.log');
try {
  const lines = await generate(file);
  const bytes = statSync(file).size;
  const meshlog = await startMeshlog({
    dataDir: join(root, 'server', 'data'),
    args: ['--log-level', 'info'],
    nodeArgs: nodeArgs(flags['server-node-args']),
  });
  try {
    if (flags.only !== 'rsyslog') await shipWithAgent(meshlog, root, file, lines, bytes);
    if (flags.only !== 'agent') await shipWithRsyslog(meshlog, root, file, lines, bytes);
  } finally {
    await meshlog.stop();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
