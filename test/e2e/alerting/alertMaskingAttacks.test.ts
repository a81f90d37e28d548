import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Storage } from '../../../src/storage/engine/storage.js';
import { AlertStore } from '../../../src/storage/stores/alertStore.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * What a reader without `unmasker` could still learn of a masked `user_id`
 * through alerts (fingerprints, silences, receivers) and through the counts
 * and order of SQL-only reads. Two tenants hold the same records but for the
 * users: `oneco` has alice twice, `twoco` alice and carol (as long), so a
 * masked answer that differs between them counts or sorts masked values.
 */

let meshlog: RunningMeshlog;
let configFile: string;
let rulesFile: string;
const keys: Record<string, string> = {};
const received: string[] = [];
let receiver: Server;

// No redaction rule matches them (an e-mail would be redacted at ingest): they are stored as sent, and masked at read.
const alice = 'alice-4711';
const usersOf: Record<string, string[]> = { oneco: [alice, alice], twoco: [alice, 'carol-4711'], legacyco: [alice, alice] };
const hourNs = 3_600_000_000_000n;
// Both records in one hour, so a chunk (stream × hour) count tells one stream from two.
const baseNs = ((BigInt(Date.now()) * 1_000_000n) / hourNs) * hourNs + 60_000_000_000n;
const range = `start=${baseNs - hourNs}&end=${baseNs + hourNs}`;
const q = encodeURIComponent;

const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });
const recordsOf = (tenant: string) =>
  usersOf[tenant]!.map((user, i) => ({
    resource: { attributes: [attribute('service.name', 'probe'), attribute('user.id', user)] },
    scopeLogs: [
      { logRecords: [{ timeUnixNano: String(baseNs + BigInt(i) * 1_000_000_000n), severityNumber: 9, body: { stringValue: 'login' } }] },
    ],
  }));

const ruleGroup = (tenant: string) => `  - name: users-${tenant}
    interval: 300ms
    tenant: ${tenant}
    rules:
      - alert: ActiveUser
        expr: sum by (user_id) (count_over_time({service_name="probe"} [3h])) > 0
        annotations:
          summary: "{{ $labels.user_id }} was active"
`;

/** The fingerprint alerts had before it was keyed: a plain hash anyone can compute from a guess. */
function plainFingerprint(tenant: string, labels: Record<string, string>): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256')
    .update(JSON.stringify([tenant, 'users.rules.yaml', `users-${tenant}`, sorted]))
    .digest('hex')
    .slice(0, 16);
}

async function call(path: string, token: string, tenant: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${meshlog.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      'x-scope-orgid': tenant,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
  });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

async function createKey(name: string, roles: string[], tenants: string[]): Promise<string> {
  const { status, body } = await call('/api/v1/admin/keys', meshlog.token, 'oneco', {
    method: 'POST',
    body: JSON.stringify({ name, roles, tenants }),
  });
  assert.equal(status, 201, JSON.stringify(body));
  return body.key;
}

async function ingest(tenant: string): Promise<void> {
  const response = await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify({ resourceLogs: recordsOf(tenant) }), {
    'x-scope-orgid': tenant,
  });
  assert.equal(response.status, 200, await response.text());
}

const firingAlerts = async (token: string, tenant: string) =>
  ((await call('/api/v1/alerts', token, tenant)).body.alerts as any[]).filter((alert) => alert.state === 'firing');

function writeConfig(tenants: string[], receiverPort: number, dir: string): void {
  writeFileSync(rulesFile, `groups:\n${tenants.map(ruleGroup).join('')}`);
  writeFileSync(join(dir, 'webhook.secret'), 'masking-webhook-secret\n');
  writeFileSync(
    configFile,
    [
      'masking:',
      '  fields: [user.id]',
      'alerting:',
      `  rules_files: [${JSON.stringify(rulesFile)}]`,
      '  webhooks:',
      `    - url: http://127.0.0.1:${receiverPort}/hook`,
      `      secret_file: ${JSON.stringify(join(dir, 'webhook.secret'))}`,
      '',
    ].join('\n'),
  );
}

before(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(body);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const dir = tempDataDir('meshlog-alert-masking-');
  configFile = join(dir, 'meshlog.yaml');
  rulesFile = join(dir, 'users.rules.yaml');
  // legacyco's rule comes only with the restart of the last test, over an alert stored as before keying.
  writeConfig(['oneco', 'twoco'], (receiver.address() as AddressInfo).port, dir);
  meshlog = await startMeshlog({ args: ['--config', configFile] });
  keys.analyst = await createKey('analyst', ['analyst'], ['oneco', 'twoco', 'legacyco']);
  keys.unmasker = await createKey('privileged analyst', ['analyst', 'unmasker'], ['oneco', 'twoco', 'legacyco']);
  keys.otherTenant = await createKey('analyst of another tenant', ['analyst'], ['otherco']);
  keys.ingester = await createKey('shipper', ['ingester'], ['oneco', 'twoco']);
  for (const tenant of ['oneco', 'twoco', 'legacyco']) await ingest(tenant);
  await waitFor(
    async () => {
      const [one, two] = await Promise.all(['oneco', 'twoco'].map((tenant) => firingAlerts(keys.unmasker!, tenant)));
      return one!.length === 1 && two!.length === 2;
    },
    { what: 'the ActiveUser alerts of oneco (alice) and twoco (alice, carol) firing', timeoutMs: 180_000 },
  );
});

after(async () => {
  await meshlog.stop();
  receiver.close();
});

test('a masked reader cannot confirm a guessed masked value by hashing it into an alert fingerprint', async () => {
  const guess = plainFingerprint('oneco', { user_id: alice, criteria: 'CC7.2', alertname: 'ActiveUser' });
  const shown = [
    ...(await call('/api/v1/alerts', keys.analyst!, 'oneco')).body.alerts,
    ...(await call('/api/v1/alerts?history=true', keys.analyst!, 'oneco')).body.transitions,
    ...(await call('/api/v1/alerts/notifications', keys.analyst!, 'oneco')).body.attempts,
  ].map((entry: { fingerprint: string }) => entry.fingerprint);
  assert.ok(shown.length >= 3, 'the alert, its history and its notification are listed');
  assert.ok(!shown.includes(guess), 'the fingerprint is the plain hash of the guessed labels');
  for (const fingerprint of shown) assert.match(fingerprint, /^[0-9a-f]{20}$/, 'a keyed fingerprint');
  assert.doesNotMatch(JSON.stringify(await firingAlerts(keys.analyst!, 'oneco')), /alice/);
});

test("a receiver gets an alert's masked label and annotation masked", async () => {
  const bodies = await waitFor(() => (received.filter((body) => body.includes('"ActiveUser"')).length >= 3 ? received : undefined), {
    what: 'the three ActiveUser notifications',
    timeoutMs: 180_000,
  });
  const alerts = bodies.map((body) => JSON.parse(body)).filter((body) => body.alerts[0].labels.alertname === 'ActiveUser');
  assert.ok(alerts.length >= 3);
  for (const body of alerts) {
    assert.equal(body.alerts[0].labels.user_id, '[MASKED]');
    assert.equal(body.alerts[0].annotations.summary, '[MASKED] was active');
  }
  assert.doesNotMatch(bodies.join('\n'), /alice|carol/);
});

test('a masked reader cannot probe a masked value with a silence: a matcher on a masked label is refused', async () => {
  for (const value of [alice, '[MASKED]']) {
    const refused = await call('/api/v1/silences', keys.analyst!, 'oneco', {
      method: 'POST',
      body: JSON.stringify({ matchers: { user_id: value }, duration: '1h', comment: 'probe' }),
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /user_id is masked for you/);
  }
  // A silence on what the reader sees is still theirs to set.
  const own = await call('/api/v1/silences', keys.analyst!, 'oneco', {
    method: 'POST',
    body: JSON.stringify({ matchers: { alertname: 'NoSuchAlert' }, duration: '1h', comment: 'quiet' }),
  });
  assert.equal(own.status, 201, JSON.stringify(own.body));
  assert.equal((await call(`/api/v1/silences/${own.body.id}`, keys.analyst!, 'oneco', { method: 'DELETE' })).status, 202);
});

test("a masked reader sees an unmasker's silence on a masked value with the value masked", async () => {
  const created = await call('/api/v1/silences', keys.unmasker!, 'twoco', {
    method: 'POST',
    body: JSON.stringify({ matchers: { user_id: alice }, duration: '1h', comment: 'known test user' }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const masked = (await call('/api/v1/silences', keys.analyst!, 'twoco')).body.silences;
  assert.deepEqual(
    masked.map((silence: any) => silence.matchers),
    [{ user_id: '[MASKED]' }],
  );
  assert.deepEqual(
    (await call('/api/v1/silences', keys.unmasker!, 'twoco')).body.silences.map((silence: any) => silence.matchers),
    [{ user_id: alice }],
  );
});

test("another tenant's analyst and an ingester get no alert, silence or fingerprint of the tenant", async () => {
  for (const path of ['/api/v1/alerts', '/api/v1/alerts/notifications', '/api/v1/silences', '/prometheus/api/v1/alerts']) {
    const other = await call(path, keys.otherTenant!, 'oneco');
    const ingester = await call(path, keys.ingester!, 'oneco');
    assert.equal(other.status, 403, `${path} for another tenant's analyst`);
    assert.equal(ingester.status, 403, `${path} for an ingester`);
    assert.doesNotMatch(JSON.stringify([other.body, ingester.body]), /alice|[0-9a-f]{20}/);
  }
  const silence = { matchers: { user_id: alice }, duration: '1h', comment: 'probe' };
  for (const token of [keys.otherTenant!, keys.ingester!])
    assert.equal((await call('/api/v1/silences', token, 'oneco', { method: 'POST', body: JSON.stringify(silence) })).status, 403);
});

/** What a masked reader's SQL-only reads answer of the tenant's probe streams. */
async function sqlReadsOf(token: string, tenant: string): Promise<Record<string, unknown>> {
  const selector = q('{service_name="probe"}');
  const read = async (path: string) => {
    const { status, body } = await call(path, token, tenant);
    assert.equal(status, 200, `${path}: ${JSON.stringify(body)}`);
    return body.data ?? body;
  };
  return {
    series: await read(`/loki/api/v1/series?match[]=${selector}&${range}`),
    stats: await read(`/loki/api/v1/index/stats?query=${selector}&${range}`),
    detectedLabels: await read(`/loki/api/v1/detected_labels?query=${selector}&${range}`),
    volume: await read(`/loki/api/v1/index/volume?query=${selector}&${range}&targetLabels=user_id`),
    values: await read(`/loki/api/v1/label/user_id/values?query=${selector}&${range}`),
  };
}

test("a masked reader's series, stats, detected labels, volume and label values do not count a masked label's values", async () => {
  const [one, two] = [await sqlReadsOf(keys.analyst!, 'oneco'), await sqlReadsOf(keys.analyst!, 'twoco')];
  assert.deepEqual(one, two, 'one user and two users answer apart');
  assert.doesNotMatch(JSON.stringify(one), /alice|carol/);
  // The control: told apart as stored, the two tenants differ (one stream against two).
  const [oneStored, twoStored] = [await sqlReadsOf(keys.unmasker!, 'oneco'), await sqlReadsOf(keys.unmasker!, 'twoco')];
  assert.equal((oneStored.series as unknown[]).length, 1);
  assert.equal((twoStored.series as unknown[]).length, 2);
  assert.notDeepEqual(oneStored.stats, twoStored.stats);
});

test('an alert stored with a plain fingerprint before keying goes on firing after the upgrade, shown and acknowledged only keyed', async () => {
  // As the rule returns them: its series' labels, the default `criteria` and the alert name.
  const labels = { user_id: alice, criteria: 'CC7.2', alertname: 'ActiveUser' };
  const legacy = plainFingerprint('legacyco', labels);
  const activeAtMs = Date.now() - 60_000;
  // The server stops; the alert is stored as the version before keying stored it; the server comes back with its rule.
  await meshlog.stop();
  const storage = await Storage.open({ dataDir: meshlog.dataDir, database: 'meshlog' }, pino({ level: 'silent' }));
  await new AlertStore(storage).recordTransitions([
    {
      tenant: 'legacyco',
      namespace: 'users.rules.yaml',
      group: 'users-legacyco',
      alertName: 'ActiveUser',
      fingerprint: legacy,
      state: 'firing',
      labels,
      annotations: { summary: `${alice} was active` },
      value: 2,
      activeAtMs,
      atMs: activeAtMs,
    },
  ]);
  await storage.close();
  writeConfig(['oneco', 'twoco', 'legacyco'], (receiver.address() as AddressInfo).port, join(configFile, '..'));
  meshlog = await startMeshlog({ dataDir: meshlog.dataDir, args: ['--config', configFile] });
  // Two evaluations after the restart: the stored instance was matched, not resolved and replaced.
  const evaluatedAt = async () => {
    const { body } = await call('/prometheus/api/v1/rules', keys.unmasker!, 'legacyco');
    return body.data.groups[0]?.rules[0]?.lastEvaluation as string | undefined;
  };
  const first = await waitFor(async () => (await evaluatedAt())?.startsWith('0001') === false && evaluatedAt(), {
    what: "legacyco's rule evaluated",
    timeoutMs: 180_000,
  });
  await waitFor(async () => ((await evaluatedAt()) !== first ? true : undefined), {
    what: "legacyco's rule evaluated again",
    timeoutMs: 180_000,
  });
  const history = (await call('/api/v1/alerts?history=true', keys.unmasker!, 'legacyco')).body.transitions;
  assert.deepEqual(
    history.map((t: any) => t.state),
    ['firing'],
    'the stored alert went on (no resolution, no new pending instance)',
  );
  const [alert] = await firingAlerts(keys.analyst!, 'legacyco');
  assert.equal(alert.active_at, new Date(activeAtMs).toISOString());
  assert.match(alert.fingerprint, /^[0-9a-f]{20}$/);
  assert.notEqual(alert.fingerprint, legacy);
  // The plain fingerprint would confirm the guess by 201 against 404: only the shown one is taken.
  const ack = (fingerprint: string) =>
    call('/api/v1/alerts/acknowledge', keys.analyst!, 'legacyco', { method: 'POST', body: JSON.stringify({ fingerprint }) });
  assert.equal((await ack(legacy)).status, 404);
  assert.equal((await ack(alert.fingerprint)).status, 201);
  const [acknowledged] = await firingAlerts(keys.analyst!, 'legacyco');
  assert.equal(acknowledged.fingerprint, alert.fingerprint);
  assert.equal(acknowledged.acknowledged?.by, 'analyst');
});
