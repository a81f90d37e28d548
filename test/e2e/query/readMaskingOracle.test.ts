import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * Read masking as an oracle: a reader without `unmask` must not learn whether a
 * masked value is stored from which lines, series, labels or counts a selector
 * or filter on it keeps. Two tenants hold the same records, differing only in
 * one user's value (`alice@…` in one, `carol@…` in the other, as long): for
 * every read endpoint and kind of matcher the masked reader's answers are the
 * same for both, while an unmasker's, matched against stored values, differ.
 */

let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};

/** The tenant holding the secret, and its decoy holding another value in its place. */
const secretTenant = 'secretco';
const decoyTenant = 'decoyco';
const secretOf: Record<string, string> = { [secretTenant]: 'alice@example.com', [decoyTenant]: 'carol@example.com' };
const secret = secretOf[secretTenant]!;

const baseNs = (BigInt(Date.now()) / 60_000n - 10n) * 60_000_000_000n;
const startNs = baseNs - 3_600_000_000_000n;
const endNs = baseNs + 600_000_000_000n;
const range = `start=${startNs}&end=${endNs}`;

type Attribute = { key: string; value: { stringValue: string } };
const attribute = (key: string, value: string): Attribute => ({ key, value: { stringValue: value } });

/** One record: its resource attributes (stream labels), log attributes (structured metadata), body, second after base. */
function record(userValue: string, second: number, resource: Attribute[], attributes: Attribute[], body: string) {
  return {
    resource: { attributes: [attribute('service.name', 'probe'), ...resource] },
    scopeLogs: [
      {
        logRecords: [
          {
            timeUnixNano: (baseNs + BigInt(second) * 1_000_000_000n).toString(),
            severityNumber: 9,
            attributes,
            body: { stringValue: body.replaceAll('$USER', userValue) },
          },
        ],
      },
    ],
  };
}

/** The same records in each tenant but for the user value: as a stream label, in JSON and logfmt lines, as structured metadata. */
function recordsOf(user: string) {
  return [
    record(user, 0, [attribute('user.id', user)], [], '{"user_id":"$USER","action":"login"}'),
    record(user, 1, [attribute('user.id', 'bob@example.com')], [], '{"user_id":"bob@example.com","action":"logout"}'),
    record(user, 2, [], [], '{"action":"refund","user_id":"$USER","note":"refund to $USER"}'),
    record(user, 3, [], [attribute('user.id', user)], '{"action":"checkout"}'),
    record(user, 4, [], [], 'action=pay user_id=$USER'),
  ];
}

async function createKey(name: string, roles: string[], tenants: string[]): Promise<string> {
  const response = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, roles, tenants }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { key: string }).key;
}

async function read(path: string, token: string, tenant: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${meshlog.url}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': tenant } });
  return { status: response.status, text: await response.text() };
}

async function readJson(path: string, token: string, tenant: string): Promise<any> {
  const { status, text } = await read(path, token, tenant);
  assert.equal(status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

const q = encodeURIComponent;

/** A read endpoint: what it answers for a query, without what differs between any two calls (query stats, times of the call). */
type Endpoint = (query: string, token: string, tenant: string) => Promise<unknown>;

/** Endpoints that take a stream selector. */
const selectorEndpoints: Record<string, Endpoint> = {
  '/series': async (query, token, tenant) => (await readJson(`/loki/api/v1/series?match[]=${q(query)}&${range}`, token, tenant)).data,
  '/labels': async (query, token, tenant) => (await readJson(`/loki/api/v1/labels?query=${q(query)}&${range}`, token, tenant)).data,
  '/label/<name>/values': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/label/service_name/values?query=${q(query)}&${range}`, token, tenant)).data,
  '/index/stats': async (query, token, tenant) => readJson(`/loki/api/v1/index/stats?query=${q(query)}&${range}`, token, tenant),
  '/index/volume': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/index/volume?query=${q(query)}&${range}&targetLabels=user_id`, token, tenant)).data.result.map(
      (sample: { metric: unknown; value: [number, string] }) => [sample.metric, sample.value[1]],
    ),
  '/index/volume_range': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/index/volume_range?query=${q(query)}&${range}&step=10m`, token, tenant)).data.result,
  '/detected_labels': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/detected_labels?query=${q(query)}&${range}`, token, tenant)).detectedLabels,
  '/patterns': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/patterns?query=${q(query)}&${range}&step=1m`, token, tenant)).data,
};

/** Endpoints that take a log query (selector, line filters, parsers, label filters). */
const logQueryEndpoints: Record<string, Endpoint> = {
  '/query_range (lines)': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/query_range?query=${q(query)}&${range}&direction=forward`, token, tenant)).data.result,
  '/query_range (metric)': async (query, token, tenant) =>
    (
      await readJson(
        `/loki/api/v1/query_range?query=${q(`sum by (user_id) (count_over_time(${query} [10m]))`)}&${range}&step=10m`,
        token,
        tenant,
      )
    ).data.result,
  '/query (instant)': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/query?query=${q(`count_over_time(${query} [2h])`)}&time=${endNs}`, token, tenant)).data.result,
  '/detected_fields': async (query, token, tenant) =>
    (await readJson(`/loki/api/v1/detected_fields?query=${q(query)}&${range}`, token, tenant)).fields,
  '/detected_field/<name>/values': async (query, token, tenant) =>
    readJson(`/loki/api/v1/detected_field/action/values?query=${q(query)}&${range}`, token, tenant),
  '/api/v1/export': async (query, token, tenant) => {
    const { status, text } = await read(`/api/v1/export?query=${q(query)}&${range}`, token, tenant);
    assert.equal(status, 200, text);
    return text;
  },
  '/api/v1/alerts/backtest': async (query, token, tenant) =>
    (await readJson(`/api/v1/alerts/backtest?expr=${q(`count_over_time(${query} [10m]) > 0`)}&${range}&step=1m`, token, tenant)).series,
};

/**
 * Matchers a stream selector can hold, on the masked label `user_id`; `revealing`: matched against
 * stored values, every endpoint answers differently per tenant (a negative matcher may leave label names alike).
 */
const selectorKinds: Record<string, { query: string; revealing: boolean }> = {
  equality: { query: `{service_name="probe", user_id="${secret}"}`, revealing: true },
  regex: { query: '{service_name="probe", user_id=~"alice.*"}', revealing: true },
  'negative matcher': { query: `{service_name="probe", user_id!="${secret}"}`, revealing: false },
  'negative regex': { query: '{service_name="probe", user_id!~"alice.*"}', revealing: false },
  'matcher on the masked form': { query: '{service_name="probe", user_id="[MASKED]"}', revealing: false },
};

/** Stages after a plain selector that look at a masked value. */
const pipelineKinds: Record<string, { query: string; revealing: boolean }> = {
  'line filter': { query: '{service_name="probe"} |= "alice@"', revealing: true },
  'line regex': { query: '{service_name="probe"} |~ "alice@[a-z.]+"', revealing: true },
  'negative line filter': { query: '{service_name="probe"} != "alice@"', revealing: false },
  'parsed-label filter (json)': { query: `{service_name="probe"} | json | user_id="${secret}"`, revealing: true },
  'parsed-label regex (json)': { query: '{service_name="probe"} | json | user_id=~"alice.*"', revealing: true },
  'negative parsed-label filter (json)': { query: `{service_name="probe"} | json | __error__="" | user_id!="${secret}"`, revealing: false },
  'parsed-label filter (logfmt)': { query: `{service_name="probe"} |= "action=pay" | logfmt | user_id="${secret}"`, revealing: true },
  'parsed-label regex (logfmt)': { query: '{service_name="probe"} |= "action=pay" | logfmt | user_id=~"alice.*"', revealing: true },
  'structured metadata label filter': { query: `{service_name="probe"} | user_id="${secret}"`, revealing: true },
};

const cases = [
  ...Object.entries(selectorEndpoints).flatMap(([endpoint, read]) =>
    Object.entries(selectorKinds).map(([kind, probe]) => ({ endpoint, read, kind, ...probe })),
  ),
  ...Object.entries(logQueryEndpoints).flatMap(([endpoint, read]) =>
    Object.entries({ ...selectorKinds, ...pipelineKinds }).map(([kind, probe]) => ({ endpoint, read, kind, ...probe })),
  ),
];

before(async () => {
  const dir = tempDataDir('meshlog-masking-oracle-');
  const configFile = join(dir, 'meshlog.yaml');
  // Observe mode keeps the emails as sent (masked at read by its rules), so they are there to be probed for.
  const rulesFile = join(dir, 'users.rules.yaml');
  // The same rule in both tenants, evaluated for no person on stored values.
  const group = (tenant: string) => `  - name: users-${tenant}
    interval: 300ms
    tenant: ${tenant}
    rules:
      - alert: ActiveUser
        expr: sum by (user_id) (count_over_time({service_name="probe"} [2h])) > 0
        annotations:
          summary: "{{ $labels.user_id }} was active"
`;
  writeFileSync(rulesFile, `groups:\n${group(secretTenant)}${group(decoyTenant)}`);
  writeFileSync(
    configFile,
    [
      'masking:',
      '  fields: [user.id]',
      'pipeline:',
      '  redaction:',
      '    mode: observe',
      'alerting:',
      `  rules_files: [${JSON.stringify(rulesFile)}]`,
      '',
    ].join('\n'),
  );
  meshlog = await startMeshlog({ args: ['--config', configFile], env: { MESHLOG_PATTERNS_FLUSH_INTERVAL_MS: '100' } });
  keys.analyst = await createKey('analyst', ['analyst'], [secretTenant, decoyTenant]);
  keys.unmasker = await createKey('privileged analyst', ['analyst', 'unmasker'], [secretTenant, decoyTenant]);
  keys.otherTenant = await createKey('analyst of another tenant', ['analyst'], ['otherco']);
  keys.ingester = await createKey('shipper', ['ingester'], [secretTenant, decoyTenant]);
  for (const tenant of [secretTenant, decoyTenant]) {
    const response = await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify({ resourceLogs: recordsOf(secretOf[tenant]!) }), {
      'x-scope-orgid': tenant,
    });
    assert.equal(response.status, 200, await response.text());
  }
  // Every record committed, and mined into patterns, in both tenants.
  for (const tenant of [secretTenant, decoyTenant]) {
    await waitFor(
      async () => {
        const lines = (await logQueryEndpoints['/query_range (lines)']!('{service_name="probe"}', keys.unmasker!, tenant)) as {
          values: unknown[];
        }[];
        const patterns = (await selectorEndpoints['/patterns']!('{service_name="probe"}', keys.unmasker!, tenant)) as unknown[];
        return lines.reduce((n, stream) => n + stream.values.length, 0) === 5 && patterns.length > 0;
      },
      { what: `the probe records of ${tenant}, and their patterns` },
    );
  }
});

after(async () => {
  await meshlog.stop();
});

for (const { endpoint, read, kind, query } of cases) {
  test(`a masked reader's ${endpoint} answer to a ${kind} on a masked value is the same whether the value is stored or not`, async () => {
    const secretAnswer = await read(query, keys.analyst!, secretTenant);
    const decoyAnswer = await read(query, keys.analyst!, decoyTenant);
    assert.deepEqual(secretAnswer, decoyAnswer, `${query}: the answer tells the tenant holding ${secret} apart`);
    assert.doesNotMatch(JSON.stringify(secretAnswer), /alice|carol/, 'the answer shows a masked value');
  });
}

for (const { endpoint, read, kind, query } of cases.filter((c) => c.revealing)) {
  test(`an unmasker's ${endpoint} answer to a ${kind} matches stored values`, async () => {
    // The probe is not blind: matched against stored values, the two tenants answer differently.
    const secretAnswer = await read(query, keys.unmasker!, secretTenant);
    const decoyAnswer = await read(query, keys.unmasker!, decoyTenant);
    assert.notDeepEqual(secretAnswer, decoyAnswer, `${query}: the unmasker's answers do not tell stored values apart`);
  });
}

test('a masked reader matching the masked form of a label gets every stream that has it', async () => {
  const series = (await selectorEndpoints['/series']!(selectorKinds['matcher on the masked form']!.query, keys.analyst!, secretTenant)) as {
    user_id: string;
  }[];
  // alice's and bob's streams both match; as seen they are one series (two would count the masked values).
  assert.deepEqual(
    series.map((labels) => labels.user_id),
    ['[MASKED]'],
  );
});

test('a masked multi-tenant read cannot tell which tenant holds a masked value; an unmasker can', async () => {
  const both = `${secretTenant}|${decoyTenant}`;
  const selector = selectorKinds.equality!.query;
  assert.deepEqual(await selectorEndpoints['/series']!(selector, keys.analyst!, both), []);
  const unmasked = (await selectorEndpoints['/series']!(selector, keys.unmasker!, both)) as Record<string, string>[];
  assert.deepEqual(
    unmasked.map((labels) => [labels.__tenant_id__, labels.user_id]),
    [[secretTenant, secret]],
  );
  const negative = (await selectorEndpoints['/series']!(selectorKinds['negative matcher']!.query, keys.analyst!, both)) as Record<
    string,
    string
  >[];
  // Each tenant's streams as seen: its masked users' (the masked user's and bob's, one series) and the one without a user.
  assert.deepEqual(negative.map((labels) => labels.__tenant_id__).sort(), [decoyTenant, decoyTenant, secretTenant, secretTenant]);
});

test("another tenant's analyst and an ingester are refused every probe alike, whether the value is stored or not", async () => {
  const probe = selectorKinds.equality!.query;
  const paths = [
    `/loki/api/v1/series?match[]=${q(probe)}&${range}`,
    `/loki/api/v1/index/stats?query=${q(probe)}&${range}`,
    `/loki/api/v1/query_range?query=${q(probe)}&${range}`,
    `/loki/api/v1/patterns?query=${q(probe)}&${range}`,
    `/api/v1/export?query=${q(probe)}&${range}`,
  ];
  for (const path of paths) {
    for (const token of [keys.otherTenant!, keys.ingester!]) {
      const secretAnswer = await read(path, token, secretTenant);
      const decoyAnswer = await read(path, token, decoyTenant);
      assert.equal(secretAnswer.status, 403, `${path}: ${secretAnswer.text}`);
      // The refusal names the tenant asked for, and nothing else tells the two apart.
      assert.deepEqual(secretAnswer, { ...decoyAnswer, text: decoyAnswer.text.replace(decoyTenant, secretTenant) });
    }
  }
});

/** A Loki tail WebSocket from now on (no history), open once this resolves, collecting every line it receives. */
async function openTail(query: string, token: string, tenant: string): Promise<{ lines: string[]; socket: WebSocket }> {
  const url = `${meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${q(query)}&start=${BigInt(Date.now()) * 1_000_000n}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': tenant } });
  const lines: string[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { streams: { values: [string, string][] }[] };
    for (const stream of frame.streams) for (const [, line] of stream.values) lines.push(line);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { lines, socket };
}

/** Selectors a closing line (its user `sentinel-user`, masked as any) passes for a masked reader, so a tail is known to have seen what came before. */
const tailKinds: Record<string, string> = {
  'negative matcher': `{service_name="tailprobe", user_id!="${secret}"}`,
  'negative regex': '{service_name="tailprobe", user_id!~"alice.*"}',
  'matcher on the masked form': '{service_name="tailprobe", user_id="[MASKED]"}',
  'negative parsed-label filter (json)': `{service_name="tailprobe"} | json | user_id!="${secret}"`,
};

test("a masked reader's live tail keeps the same lines for a selector on a masked value whether the value is stored or not", async () => {
  const tails: { kind: string; tenant: string; lines: string[]; socket: WebSocket }[] = [];
  for (const [kind, query] of Object.entries(tailKinds))
    for (const tenant of [secretTenant, decoyTenant]) tails.push({ kind, tenant, ...(await openTail(query, keys.analyst!, tenant)) });
  try {
    for (const tenant of [secretTenant, decoyTenant]) {
      const user = secretOf[tenant]!;
      const lines = [
        { resource: { attributes: [attribute('service.name', 'tailprobe'), attribute('user.id', user)] }, body: `{"user_id":"${user}"}` },
        {
          resource: { attributes: [attribute('service.name', 'tailprobe'), attribute('user.id', 'sentinel-user')] },
          body: '{"user_id":"sentinel-user","done":true}',
        },
      ];
      for (const { resource, body } of lines) {
        const request = { resourceLogs: [{ resource, scopeLogs: [{ logRecords: [{ severityNumber: 9, body: { stringValue: body } }] }] }] };
        const response = await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify(request), { 'x-scope-orgid': tenant });
        assert.equal(response.status, 200);
      }
    }
    for (const tail of tails)
      await waitFor(() => tail.lines.some((line) => line.includes('"done"')), {
        what: `the closing line in the ${tail.kind} tail of ${tail.tenant}`,
      });
    for (const kind of Object.keys(tailKinds)) {
      const [secretTail, decoyTail] = [secretTenant, decoyTenant].map((tenant) =>
        tails.find((t) => t.kind === kind && t.tenant === tenant)!,
      );
      assert.deepEqual(secretTail!.lines, decoyTail!.lines, `${kind}: the live tail tells the tenant holding ${secret} apart`);
      assert.equal(secretTail!.lines.length, 2, `${kind}: ${JSON.stringify(secretTail!.lines)}`);
    }
  } finally {
    for (const tail of tails) tail.socket.close();
  }
});

/** The alerts of a tenant as an alert API answers them, without what differs by tenant or time (fingerprints, times). */
async function alertsOf(token: string, tenant: string): Promise<string[][]> {
  const prometheus = (await readJson('/prometheus/api/v1/alerts', token, tenant)).data.alerts.map(
    (alert: { labels: Record<string, string>; annotations: Record<string, string> }) => [alert.labels, alert.annotations],
  );
  const meshlogAlerts = (await readJson('/api/v1/alerts', token, tenant)).alerts.map(
    (alert: { labels: Record<string, string>; annotations: Record<string, string> }) => [alert.labels, alert.annotations],
  );
  const rules = (await readJson('/prometheus/api/v1/rules', token, tenant)).data.groups.flatMap(
    (group: { rules: { alerts: { labels: Record<string, string>; annotations: Record<string, string> }[] }[] }) =>
      group.rules.flatMap((rule) => rule.alerts.map((alert) => [alert.labels, alert.annotations])),
  );
  return [prometheus, meshlogAlerts, rules].map((alerts) => alerts.map((alert: unknown) => JSON.stringify(alert)).sort());
}

test("a masked reader sees an alert rule's labels and annotations masked, the same whether the value is stored or not", async () => {
  // A rule evaluates stored values: the unmasker sees alice's alert, in every alert API.
  const unmasked = await waitFor(
    async () => {
      const alerts = await alertsOf(keys.unmasker!, secretTenant);
      return alerts.every((list) => list.some((alert) => alert.includes(`"summary":"${secret} was active"`))) ? alerts : undefined;
    },
    { what: "alice's alert in the unmasker's alert APIs" },
  );
  assert.ok(
    unmasked.every((list) => list.some((alert) => alert.includes(`"user_id":"${secret}"`))),
    'the rule groups by the stored value',
  );
  await waitFor(
    async () => (await alertsOf(keys.unmasker!, decoyTenant)).every((list) => list.length === unmasked[0]!.length) || undefined,
    { what: "the decoy tenant's alerts" },
  );
  const secretAlerts = await alertsOf(keys.analyst!, secretTenant);
  assert.deepEqual(secretAlerts, await alertsOf(keys.analyst!, decoyTenant));
  assert.doesNotMatch(JSON.stringify(secretAlerts), /alice|carol|bob/, 'an alert shows a masked value');
  assert.match(JSON.stringify(secretAlerts[0]), /\[MASKED\] was active/);
});
