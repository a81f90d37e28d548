import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { lokiCall, type LokiAnswer } from '../../support/lokiCall.js';
import { waitFor } from '../../support/waitFor.js';
import { createKeyWithCli } from '../../support/cliKeys.js';
import { goldenLines } from '../../support/goldenLines.js';
import { lokiLikeIngest } from '../../support/lokiConformanceLogs.js';

let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};

/** Whole minutes, ten minutes back: every line (1 s after it and later) falls in the 5-minute window ending at `evalNs`. */
const baseMs = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
const evalNs = BigInt(baseMs + 5 * 60_000) * 1_000_000n;

/**
 * An Istio sidecar's access line (Istio's documented default text format, as in the
 * parser fixtures) for an outbound request of the pod's workload to `destination`.
 */
function istioLine(second: number, destination: string, status: number, durationMs: number): string {
  const time = new Date(baseMs + (second + 1) * 1000).toISOString();
  return `[${time}] "GET /api/${destination} HTTP/1.1" ${status} - via_upstream - "-" 0 135 ${durationMs} ${durationMs} "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b${String(second).padStart(4, '0')}" "${destination}:8000" "10.44.1.27:80" outbound|8000||${destination}.shop.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`;
}

/** Per destination: the statuses its requests got (one line each) and each request's duration. */
const acmeTraffic: Record<string, number[]> = {
  reviews: [500, 500, 200, 503, 200, 500],
  ratings: [200, 502, 200, 200, 200],
  details: [200, 200, 200],
};

async function push(tenant: string, key: string, lines: string[]): Promise<void> {
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'X-Scope-OrgID': tenant, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      streams: [
        {
          stream: { service_name: 'frontend' },
          values: lines.map((line, i) => [String(BigInt(baseMs + (i + 1) * 1000) * 1_000_000n), line]),
        },
      ],
    }),
  });
  assert.equal(response.status, 204, await response.text());
}

before(async () => {
  meshlog = await startMeshlog({ dataDir: tempDataDir() });
  keys.acme = await createKeyWithCli(meshlog, 'analyst acme', ['analyst', 'ingester'], ['acme']);
  keys.beta = await createKeyWithCli(meshlog, 'analyst beta', ['analyst', 'ingester'], ['beta']);
  const lines: string[] = [];
  let second = 0;
  for (const [destination, statuses] of Object.entries(acmeTraffic))
    for (const status of statuses) lines.push(istioLine(second++, destination, status, 10 * second));
  // A line of no access-log format: it has no mesh labels, so a mesh selector never finds it.
  lines.push('plain application line, status 500');
  await push('acme', keys.acme, lines);
  // Beta's sidecar reports many failures to reviews: none of them may show in acme's numbers.
  await push(
    'beta',
    keys.beta,
    Array.from({ length: 7 }, (_, i) => istioLine(i, 'reviews', 500, 5)),
  );
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

async function instant(key: string, tenant: string, query: string, headers: Record<string, string> = {}): Promise<LokiAnswer> {
  return lokiCall({ url: meshlog.url, token: key }, tenant, '/loki/api/v1/query', { query, time: evalNs.toString() }, { headers });
}

/** A vector as `{label value: number}`, keyed by one grouping label. */
function byLabel(answer: LokiAnswer, label: string): Record<string, number> {
  assert.equal(answer.status, 200, answer.text);
  return Object.fromEntries(
    (answer.body.data.result as { metric: Record<string, string>; value: [number, string] }[]).map((sample) => [
      sample.metric[label],
      Number(sample.value[1]),
    ]),
  );
}

const committed = () =>
  waitFor(
    async () => {
      const answer = await instant(keys.acme, 'acme', 'sum(count_over_time({service_name="frontend"}[5m]))');
      return answer.status === 200 && answer.body.data.result[0]?.value[1] === '15' ? true : undefined;
    },
    { what: "acme's 15 lines to be queryable" },
  );

test("a mesh selector with a status filter grouped by destination_workload counts each destination's failed requests", async () => {
  await committed();
  const failures = await instant(
    keys.acme,
    'acme',
    'sum by (destination_workload) (count_over_time({mesh="istio"} | response_code >= 500 [5m]))',
  );
  assert.deepEqual(byLabel(failures, 'destination_workload'), { 'reviews.shop': 4, 'ratings.shop': 1 });
});

test('grouping by mesh columns without any engine stage (SQL buckets) gives the same per-destination and per-protocol counts', async () => {
  await committed();
  const all = await instant(
    keys.acme,
    'acme',
    'sum by (destination_workload) (count_over_time({mesh="istio", source_workload="frontend"}[5m]))',
  );
  assert.deepEqual(byLabel(all, 'destination_workload'), { 'reviews.shop': 6, 'ratings.shop': 5, 'details.shop': 3 });
  const protocols = await instant(
    keys.acme,
    'acme',
    'sum by (protocol, platform) (count_over_time({service_name="frontend"} | mesh="istio" [5m]))',
  );
  assert.deepEqual(byLabel(protocols, 'protocol'), { 'http/1.1': 14 });
  // A line with no mesh columns has no such labels: it groups under the empty value.
  const meshes = await instant(keys.acme, 'acme', 'sum by (mesh) (count_over_time({service_name="frontend"}[5m]))');
  assert.deepEqual(byLabel(meshes, 'mesh'), { istio: 14, undefined: 1 });
});

test("numeric mesh columns unwrap: the summed duration per destination is the lines' durations", async () => {
  await committed();
  const durations = await instant(
    keys.acme,
    'acme',
    'sum by (destination_workload) (sum_over_time({mesh="istio"} | destination_workload=~"re.*" | unwrap duration_ms [5m]))',
  );
  // Line n (1-based) took 10·n ms; reviews are lines 1 to 6.
  assert.deepEqual(byLabel(durations, 'destination_workload'), { 'reviews.shop': 10 * (1 + 2 + 3 + 4 + 5 + 6) });
});

test('mesh labels are structured metadata of each line under categorize-labels and filter log queries', async () => {
  await committed();
  const answer = await lokiCall(
    { url: meshlog.url, token: keys.acme },
    'acme',
    '/loki/api/v1/query_range',
    {
      query: '{mesh="istio"} | destination_workload="ratings.shop" | response_code="502"',
      start: String(BigInt(baseMs) * 1_000_000n),
      end: evalNs.toString(),
      limit: '100',
    },
    { headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } },
  );
  assert.equal(answer.status, 200, answer.text);
  const streams = answer.body.data.result as {
    stream: Record<string, string>;
    values: [string, string, { structuredMetadata?: Record<string, string> }][];
  }[];
  assert.equal(streams.length, 1, answer.text);
  assert.deepEqual(streams[0].stream, { service_name: 'frontend' }, 'mesh columns are not stream labels');
  assert.equal(streams[0].values.length, 1);
  const metadata = streams[0].values[0][2].structuredMetadata!;
  assert.deepEqual(
    {
      mesh: metadata.mesh,
      source: metadata.source_workload,
      destination: metadata.destination_workload,
      protocol: metadata.protocol,
      status: metadata.response_code,
      sent: metadata.bytes_sent,
      received: metadata.bytes_received,
    },
    { mesh: 'istio', source: 'frontend', destination: 'ratings.shop', protocol: 'http/1.1', status: '502', sent: '135', received: '0' },
  );
  const values = await lokiCall({ url: meshlog.url, token: keys.acme }, 'acme', '/loki/api/v1/label/destination_workload/values', {
    start: String(BigInt(baseMs) * 1_000_000n),
    end: evalNs.toString(),
  });
  assert.deepEqual(values.body.data, ['details.shop', 'ratings.shop', 'reviews.shop']);
});

test("another tenant sees none of acme's mesh lines and acme none of beta's, by selector, grouping or label values", async () => {
  await committed();
  const beta = await waitFor(
    async () => {
      const answer = byLabel(
        await instant(keys.beta, 'beta', 'sum by (destination_workload) (count_over_time({mesh="istio"}[5m]))'),
        'destination_workload',
      );
      return Object.keys(answer).length > 0 ? answer : undefined;
    },
    { what: "beta's lines to be queryable" },
  );
  assert.deepEqual(beta, { 'reviews.shop': 7 }, "beta's count holds only beta's lines");
  const acme = await instant(
    keys.acme,
    'acme',
    'sum by (destination_workload) (count_over_time({mesh="istio", destination_workload="reviews.shop"} | response_code >= 500 [5m]))',
  );
  assert.deepEqual(byLabel(acme, 'destination_workload'), { 'reviews.shop': 4 });
  const values = await lokiCall({ url: meshlog.url, token: keys.beta }, 'beta', '/loki/api/v1/label/destination_workload/values', {
    start: String(BigInt(baseMs) * 1_000_000n),
    end: evalNs.toString(),
  });
  assert.deepEqual(values.body.data, ['reviews.shop']);
  const refused = await instant(keys.beta, 'acme', 'sum by (destination_workload) (count_over_time({mesh="istio"}[5m]))');
  assert.notEqual(refused.status, 200, "beta's key cannot name acme");
  assert.doesNotMatch(refused.text, /reviews|ratings|details/);
});

test('a parser yielding a key of the same name as a mesh label gives it plainly, as with ingest-time parsing off (no _extracted)', async () => {
  // Istio's JSON access log (parser fixtures): its own protocol, response_code, bytes_sent, request_id keys.
  const line = goldenLines(['envoyJson.json'])('"start_time":"2020-11-25T21:26:18.409Z"');
  const timeNs = BigInt(Date.parse('2020-11-25T21:26:18.409Z')) * 1_000_000n;
  const plain = await startMeshlog({ dataDir: tempDataDir(), env: lokiLikeIngest });
  try {
    const answers = [];
    for (const server of [meshlog, plain]) {
      const response = await fetch(`${server.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'X-Scope-OrgID': 'acme', 'Content-Type': 'application/json' },
        body: JSON.stringify({ streams: [{ stream: { service_name: 'sleep' }, values: [[String(timeNs), line]] }] }),
      });
      assert.equal(response.status, 204, await response.text());
      answers.push(
        await waitFor(
          async () => {
            const answer = await lokiCall(
              server,
              'acme',
              '/loki/api/v1/query_range',
              { query: '{service_name="sleep"} | json', start: String(timeNs - 1_000_000_000n), end: String(timeNs + 1_000_000_000n) },
              { headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } },
            );
            return answer.body?.data?.result?.[0]?.values?.[0]?.[2] as
              { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> } | undefined;
          },
          { what: 'the Istio JSON line' },
        ),
      );
    }
    const [withIngestParsing, without] = answers;
    assert.deepEqual(withIngestParsing.parsed, without.parsed, 'the same parsed labels whether ingest parsing ran or not');
    assert.equal(withIngestParsing.parsed?.protocol, 'HTTP/1.1');
    assert.equal(withIngestParsing.parsed?.response_code, '418');
    assert.ok(
      !Object.keys(withIngestParsing.parsed ?? {}).some((name) => name.endsWith('_extracted')),
      JSON.stringify(withIngestParsing.parsed),
    );
    // Mesh labels the line does not yield stay structured metadata.
    assert.equal(withIngestParsing.structuredMetadata?.mesh, 'istio');
    assert.equal(withIngestParsing.structuredMetadata?.destination_workload, 'httpbin.foo');
  } finally {
    await plain.stop();
  }
});
