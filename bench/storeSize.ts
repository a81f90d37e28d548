/**
 * How much smaller than the raw lines the store is, as a user measures it: lines pushed through the Loki API,
 * the server left running until merges settle and the parts they superseded are removed, then stopped cleanly;
 * `du -sb` of the data dir minus an empty one's, against the bytes of the raw lines (each with its newline).
 * Settled means the data dir has not grown for SETTLE_S (default 600 s): a merge writes a new part (growth),
 * and the parts it covered are removed 480 s later (brokenParts.ts outdatedPartsLifetimeSeconds), so once no
 * merge has run for longer than that, nothing is left to remove. The figure right after ingest is printed too.
 *
 * Data sets: `access`, generated Envoy and Istio access lines (ACCESS_LINES, default 200,000; random request
 * ids, addresses and sizes, as real ones are), and `loghub`, the twelve Loghub 2k samples as they are in
 * ../shared/datasets/loghub. With BASELINE=<git rev> that revision's server runs the same pushes beside this
 * tree's, and the ratios are printed side by side.
 *
 *   npx tsc -p . && node dist/bench/storeSize.js
 *   BASELINE=main SETTLE_S=600 node dist/bench/storeSize.js
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBaseline } from './baselineBuild.js';
import { loghubDir } from '../test/support/loghub.js';
import { startMeshlog, type RunningMeshlog } from '../test/support/meshlogProcess.js';

const accessLines = Number(process.env.ACCESS_LINES ?? 200_000);
const settleSeconds = Number(process.env.SETTLE_S ?? 600);
const maxWaitSeconds = Number(process.env.MAX_WAIT_S ?? 2400);
const pollSeconds = 15;
const linesPerPush = 1000;

/** Bytes under a directory, as `du` counts them. */
function diskBytes(dir: string): number {
  return Number(spawnSync('du', ['-sb', dir], { encoding: 'utf8' }).stdout.split('\t')[0]);
}

/** mulberry32: the same lines on every run. */
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Envoy (default format) and Istio access lines of five services, with what varies in real ones varying. */
function generatedAccessLines(count: number): { service: string; line: string }[] {
  const random = seededRandom(22);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const int = (below: number) => Math.floor(random() * below);
  const hex = (length: number) => Array.from({ length }, () => int(16).toString(16)).join('');
  const paths = ['/api/v1/items', '/api/v1/cart', '/api/v1/pay', '/healthz', '/api/v1/search', '/login', '/status', '/api/v2/orders'];
  const agents = ['curl/7.73.0-DEV', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36', 'Go-http-client/1.1', 'okhttp/4.9.0'];
  const services = ['httpbin', 'items', 'cart', 'payments', 'search'];
  let ms = Date.now() - 3_600_000;
  return Array.from({ length: count }, (_, n) => {
    ms += int(20);
    const at = new Date(ms).toISOString();
    const status = random() < 0.9 ? 200 : pick([301, 404, 500, 503]);
    const requestId = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
    const peer = `10.44.${int(4)}.${int(250)}`;
    const service = pick(services);
    const line =
      n % 2
        ? `[${at}] "${pick(['GET', 'POST'])} ${pick(paths)}/${int(1000)} HTTP/1.1" ${status} - via_upstream - "-" 0 ${int(9000)} ${int(50)} ${int(50)} "-" "${pick(agents)}" "${requestId}" "${service}:8000" "${peer}:80" outbound|8000||${service}.shop.svc.cluster.local ${peer}:${30000 + int(30000)} 10.0.45.184:8000 ${peer}:46520 - default`
        : `[${at}] "GET ${pick(paths)}/${int(1000)}?page=${int(7)} HTTP/1.1" ${status} - 0 ${int(9000)} ${int(900)} 3 "${peer}" "${pick(agents)}" "${requestId}" "${service}" "10.0.2.1:80"`;
    return { service, line };
  });
}

/** Every line of the Loghub 2k samples, each under its data set's name as service. */
function loghubSampleLines(): { service: string; line: string }[] {
  return readdirSync(loghubDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap(({ name }) =>
      readFileSync(join(loghubDir, name, `${name}_2k.log`), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ service: name.toLowerCase(), line })),
    );
}

/** Pushes the lines through the Loki API, a stream per service, `linesPerPush` lines a request, one ns apart. */
async function push(meshlog: RunningMeshlog, lines: { service: string; line: string }[]): Promise<void> {
  const startNs = (BigInt(Date.now()) - 3_600_000n) * 1_000_000n;
  for (let from = 0; from < lines.length; from += linesPerPush) {
    const streams = new Map<string, [string, string][]>();
    lines.slice(from, from + linesPerPush).forEach(({ service, line }, i) => {
      if (!streams.has(service)) streams.set(service, []);
      streams.get(service)!.push([String(startNs + BigInt(from + i) * 1_000_000n), line]);
    });
    const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        streams: [...streams].map(([service, values]) => ({ stream: { service_name: service, namespace: 'shop' }, values })),
      }),
    });
    if (response.status !== 204) throw new Error(`push answered ${response.status}: ${await response.text()}`);
  }
}

interface Settled {
  bytes: number;
  /** False when MAX_WAIT_S passed with the data dir still growing now and then. */
  quiet: boolean;
}

/** Leaves the server running until its data dir has not grown for SETTLE_S, stops it, and measures it. */
async function settle(meshlog: RunningMeshlog): Promise<Settled> {
  let previous = diskBytes(meshlog.dataDir);
  const started = Date.now();
  let lastGrowth = started;
  while (Date.now() - lastGrowth < settleSeconds * 1000 && Date.now() - started < maxWaitSeconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
    const now = diskBytes(meshlog.dataDir);
    if (now > previous) lastGrowth = Date.now();
    previous = now;
  }
  await meshlog.stop();
  const bytes = diskBytes(meshlog.dataDir);
  rmSync(meshlog.dataDir, { recursive: true, force: true });
  return { bytes, quiet: Date.now() - lastGrowth >= settleSeconds * 1000 };
}

interface Stored {
  afterIngest: number;
  settled: number;
  quiet: boolean;
}

/**
 * Data dir growth (bytes) of one server taking `lines`, right after they are acknowledged and once settled,
 * over an empty server's settled data dir (its schema's parts are superseded and removed too).
 */
async function stored(lines: { service: string; line: string }[], cli: string | undefined): Promise<Stored> {
  const [empty, meshlog] = await Promise.all([startMeshlog({ cli }), startMeshlog({ cli })]);
  const emptySettled = settle(empty);
  await push(meshlog, lines);
  const afterIngest = diskBytes(meshlog.dataDir);
  const [{ bytes: emptyBytes }, settled] = await Promise.all([emptySettled, settle(meshlog)]);
  return { afterIngest: afterIngest - emptyBytes, settled: settled.bytes - emptyBytes, quiet: settled.quiet };
}

const dataSets = { access: generatedAccessLines(accessLines), loghub: loghubSampleLines() };
const baseline = process.env.BASELINE ? buildBaseline(process.env.BASELINE) : undefined;
const builds: [string, string | undefined][] = [['this tree', undefined]];
if (baseline) builds.push([`baseline ${baseline.commit.slice(0, 8)}`, baseline.cli]);
process.stderr.write(`pushing, then waiting until no data dir has grown for ${settleSeconds} s…\n`);
// Every server at once: the wait for merges to settle dominates, and sizes do not depend on timing.
const results = await Promise.all(
  builds.flatMap(([build, cli]) =>
    Object.entries(dataSets).map(async ([name, lines]) => ({ build, name, lines, result: await stored(lines, cli) })),
  ),
);
for (const { build, name, lines, result } of results) {
  const raw = lines.reduce((sum, { line }) => sum + Buffer.byteLength(line) + 1, 0);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  console.log(
    `${build.padEnd(20)} ${name.padEnd(7)} ${lines.length} lines, raw ${mb(raw)} MB: data dir +${mb(result.afterIngest)} MB ` +
      `right after ingest, +${mb(result.settled)} MB settled = ${(raw / result.settled).toFixed(2)}× smaller than raw ` +
      `(${(result.settled / lines.length).toFixed(0)} B/line)${result.quiet ? '' : ` (still growing after ${maxWaitSeconds} s)`}`,
  );
}
if (baseline) rmSync(baseline.dir, { recursive: true, force: true });
