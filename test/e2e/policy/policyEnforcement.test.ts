import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { policySignatureValid, type PolicySignature } from '../../../src/policy/policySignature.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * A tenant's logging policy enforced by a running server: applied through the
 * API and the CLI (audited with its diff, signed, kept in a history), its
 * drift found by the periodic evaluation, raised as an alert through the
 * webhook, and listed as findings in the SOC 2 report of the period.
 */
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const run = promisify(execFile);
const evaluationIntervalMs = 500;

let meshlog: RunningMeshlog;
let receiver: Server;
let dir: string;
const notifications: { status: string; labels: Record<string, string> }[] = [];
const keys: Record<string, { id: string; key: string }> = {};
const startedAt = new Date().toISOString();

const policyV1 = `policy_format: 1
tenant: acme
version: "2026-12-07.1"
owner: compliance@acme.example
required_sources:
  - name: checkout-access
    selector: { service: checkout }
    min_events_per_hour: 360
    fields: [trace_id]
retention:
  - selector: { service: checkout }
    max_age: 400d
access:
  segregation_of_duties:
    - name: admin-is-not-auditor
      roles: [admin, auditor]
  erasure_people: 2
alert_coverage:
  - source: checkout-access
    rules: [CheckoutDown]
`;
const policyV2 = policyV1.replace('version: "2026-12-07.1"', 'version: "2026-12-07.2"').replace('max_age: 400d', 'max_age: 730d');

async function api(
  method: string,
  path: string,
  token: string,
  options: { tenant?: string; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.tenant) headers['x-scope-orgid'] = options.tenant;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

async function send(service: string, count: number): Promise<void> {
  const extra = { timeUnixNano: String(BigInt(Date.now()) * 1_000_000n), traceId: '5b8efff798038103d269b633813fc60c' };
  const response = await postOtlpJson(
    meshlog.url,
    meshlog.token,
    otlpJsonRequest(
      service,
      Array.from({ length: count }, (_, i) => `GET /cart ${i} 200`),
      extra,
    ),
    { 'x-scope-orgid': 'acme' },
  );
  assert.equal(response.status, 200);
}

const meshlogCli = (args: string[], token: string) =>
  run(process.execPath, [cli, ...args, '--server', meshlog.url, '--token', token], { env: { PATH: process.env.PATH ?? '' } });

async function openDrift(): Promise<{ kind: string; subject: string; detail: string }[]> {
  const { status, body } = await api('GET', '/api/v1/policy/drift', keys.auditor!.key, { tenant: 'acme' });
  assert.equal(status, 200, `${JSON.stringify(body)}\n${meshlog.output().slice(-3000)}`);
  return body.open;
}

before(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      for (const alert of (JSON.parse(body) as { alerts: { status: string; labels: Record<string, string> }[] }).alerts)
        notifications.push(alert);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  dir = tempDataDir('meshlog-policy-');
  writeFileSync(join(dir, 'webhook.secret'), 'policy-webhook-secret\n');
  writeFileSync(
    join(dir, 'meshlog.yaml'),
    `policy:
  evaluation_interval_ms: ${evaluationIntervalMs}
  source_window: 10s
alerting:
  webhooks:
    - url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook
      secret_file: ${JSON.stringify(join(dir, 'webhook.secret'))}
`,
  );
  meshlog = await startMeshlog({ args: ['--config', join(dir, 'meshlog.yaml')] });
  const grants: [string, string[], string[]][] = [
    ['admin', ['admin'], ['acme']],
    ['auditor', ['auditor'], ['acme']],
    ['analyst', ['analyst'], ['acme']],
    ['globexAdmin', ['admin'], ['globex']],
    // Breaks the policy's segregation of duties: one key both administers and audits acme.
    ['superuser', ['admin', 'auditor'], ['acme']],
  ];
  for (const [name, roles, tenants] of grants) {
    const created = await api('POST', '/api/v1/admin/keys', meshlog.token, { body: { name, roles, tenants } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    keys[name] = created.body;
  }
});

after(async () => {
  await meshlog?.stop();
  receiver?.close();
});

let appliedV1At = '';

test('policy apply through the CLI is audited as policy.apply with the diff, stored with its version and sha256, and signed with the server key', async () => {
  writeFileSync(join(dir, 'policy-v1.yaml'), policyV1);
  writeFileSync(join(dir, 'policy-v2.yaml'), policyV2);
  const first = await meshlogCli(['policy', 'apply', join(dir, 'policy-v1.yaml'), '--output', 'json'], keys.admin!.key);
  const v1 = JSON.parse(first.stdout).policy;
  assert.equal(v1.version, 1);
  assert.match(v1.sha256, /^[0-9a-f]{64}$/);
  appliedV1At = v1.applied_at;
  await waitFor(() => Date.now() > Date.parse(appliedV1At) + 5 || undefined, { what: 'the clock to pass the first apply' });
  const second = await meshlogCli(['policy', 'apply', join(dir, 'policy-v2.yaml')], keys.admin!.key);
  assert.match(second.stdout, /as version 2/);
  assert.ok(second.stdout.includes('-12:     max_age: 400d\n  +12:     max_age: 730d'), second.stdout);

  const { body } = await api('GET', '/api/v1/policy', keys.auditor!.key, { tenant: 'acme' });
  assert.equal(body.policy.version, 2);
  assert.equal(body.policy.yaml, policyV2);
  assert.equal(body.policy.signature.facts.previous_sha256, v1.sha256);
  assert.ok(policySignatureValid(body.policy.signature as PolicySignature), 'the stored signature verifies');
  assert.ok(
    !policySignatureValid({ ...body.policy.signature, facts: { ...body.policy.signature.facts, version: 3 } } as PolicySignature),
    'a changed fact fails the signature',
  );

  const audit = await api('GET', '/api/v1/audit?action=policy.apply&since=1h', meshlog.token);
  const applied = (audit.body.events as { outcome: string; detail: string }[])
    .filter((event) => event.outcome === 'success')
    .map((event) => JSON.parse(event.detail));
  const latest = applied.find((detail) => detail.version === 2);
  assert.ok(latest, JSON.stringify(audit.body.events));
  assert.deepEqual(latest.diff, [
    '-3: version: "2026-12-07.1"',
    '+3: version: "2026-12-07.2"',
    '-12:     max_age: 400d',
    '+12:     max_age: 730d',
  ]);
  assert.equal(latest.previous_sha256, v1.sha256);
});

test('policy show --at returns the version in force at that time, not the latest', async () => {
  const atV1 = new Date(Date.parse(appliedV1At) + 1).toISOString();
  const then = await meshlogCli(['policy', 'show', '--tenant', 'acme', '--at', atV1], keys.auditor!.key);
  assert.match(then.stdout, /version 1 \(2026-12-07\.1\)/);
  assert.match(then.stdout, /max_age: 400d/);
  const now = await meshlogCli(['policy', 'show', '--tenant', 'acme'], keys.auditor!.key);
  assert.match(now.stdout, /version 2 \(2026-12-07\.2\)/);
  const before = await api('GET', `/api/v1/policy?at=${encodeURIComponent(startedAt)}`, keys.auditor!.key, { tenant: 'acme' });
  assert.equal(before.status, 404, 'no policy was in force before the first apply');
});

test('a silent required source, a grant breaking segregation of duties and an unretained stream each become drift within an evaluation, a PolicyDrift alert and a SOC 2 finding', async () => {
  // The required source sends until an evaluation sees it healthy, then goes silent.
  let sending = true;
  const sender = (async () => {
    while (sending) {
      await send('checkout', 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  let healthy: { kind: string; subject: string }[];
  try {
    await send('scratch', 3);
    healthy = await waitFor(
      async () => {
        const open = await openDrift();
        return (
          open.some((drift) => drift.kind === 'unretained_stream') && !open.some((drift) => drift.subject === 'checkout-access') && open
        );
      },
      { what: 'an evaluation that sees checkout-access sending and the scratch stream unretained', timeoutMs: 120_000 },
    );
  } finally {
    sending = false;
    await sender;
  }
  assert.ok(
    healthy.some((drift) => drift.kind === 'unretained_stream' && drift.subject === 'service=scratch'),
    JSON.stringify(healthy),
  );
  assert.ok(
    healthy.some((drift) => drift.kind === 'segregation_of_duties' && drift.subject === `key:${keys.superuser!.id}`),
    JSON.stringify(healthy),
  );
  assert.ok(
    healthy.some((drift) => drift.kind === 'missing_alert_rule' && drift.subject === 'checkout-access/CheckoutDown'),
    JSON.stringify(healthy),
  );
  assert.ok(
    !healthy.some((drift) => drift.subject === `key:${keys.admin!.id}` || drift.subject === `key:${keys.auditor!.id}`),
    'separate admin and auditor keys are no drift',
  );
  const silent = await waitFor(
    async () => (await openDrift()).find((drift) => drift.kind === 'silent_source' && drift.subject === 'checkout-access'),
    {
      what: 'checkout-access to be found silent',
      timeoutMs: 120_000,
    },
  );
  assert.match(silent.detail, /no events from \{"service":"checkout"\}/);

  // Each finding is an alert through the notification path.
  const alerted = await waitFor(
    () => {
      const kinds = new Set(
        notifications
          .filter((alert) => alert.status === 'firing' && alert.labels.alertname === 'PolicyDrift')
          .map((alert) => alert.labels.drift),
      );
      return ['silent_source', 'segregation_of_duties', 'unretained_stream'].every((kind) => kinds.has(kind)) && kinds;
    },
    { what: 'PolicyDrift notifications for the three findings', timeoutMs: 60_000 },
  );
  assert.ok(alerted.has('missing_alert_rule'));
  const history = await api('GET', '/api/v1/alerts?history=true', keys.admin!.key, { tenant: 'acme' });
  assert.ok(
    (history.body.transitions as { namespace: string; labels: Record<string, string> }[]).some(
      (t) => t.namespace === 'policy' && t.labels.drift === 'silent_source',
    ),
  );
  // Another tenant's alerts hold none of acme's drift.
  const globex = await api('GET', '/api/v1/alerts?history=true', keys.globexAdmin!.key, { tenant: 'globex' });
  assert.ok(!(globex.body.transitions as { namespace: string }[]).some((t) => t.namespace === 'policy'));

  // And a finding of the SOC 2 report for the period, read from the stored drift events.
  const report = await api('GET', `/api/v1/reports/soc2?from=${encodeURIComponent(startedAt)}&tenant=acme`, keys.auditor!.key, {
    tenant: 'acme',
  });
  assert.equal(report.status, 200, JSON.stringify(report.body).slice(0, 500));
  const section = (
    report.body.sections as {
      id: string;
      status: string;
      data: { findings: { kind: string; subject: string }[]; policies: { versions: unknown[] }[] };
    }[]
  ).find((candidate) => candidate.id === 'policy');
  assert.ok(section, 'the report has a policy section');
  assert.equal(section.status, 'fail');
  const found = new Set(section.data.findings.map((finding) => `${finding.kind} ${finding.subject}`));
  for (const expected of [
    'silent_source checkout-access',
    `segregation_of_duties key:${keys.superuser!.id}`,
    'unretained_stream service=scratch',
  ])
    assert.ok(found.has(expected), `${expected} in ${[...found].join(', ')}`);
  assert.equal(section.data.policies[0]!.versions.length, 2, 'both versions applied in the period are listed');
  const changes = (report.body.sections as { id: string; data: { by_kind: Record<string, number> } }[]).find(
    (candidate) => candidate.id === 'changes',
  );
  assert.equal(changes?.data.by_kind['policy.apply'], 2);

  // Revoking the key that broke segregation of duties resolves that finding.
  assert.equal((await api('DELETE', `/api/v1/admin/keys/${keys.superuser!.id}`, meshlog.token)).status, 200);
  await waitFor(async () => !(await openDrift()).some((drift) => drift.kind === 'segregation_of_duties') || undefined, {
    what: 'the segregation finding to resolve',
    timeoutMs: 60_000,
  });
  await waitFor(
    () => notifications.some((alert) => alert.status === 'resolved' && alert.labels.drift === 'segregation_of_duties') || undefined,
    { what: 'the resolved notification' },
  );
});

test('another tenant’s admin, an analyst and an auditor cannot apply a policy, and another tenant’s admin cannot read it', async () => {
  for (const who of ['globexAdmin', 'analyst', 'auditor']) {
    const answer = await api('POST', '/api/v1/policy', keys[who]!.key, { body: { policy: policyV1 } });
    assert.equal(answer.status, 403, `${who}: ${JSON.stringify(answer.body)}`);
  }
  const denied = await api('GET', '/api/v1/audit?action=policy.apply&outcome=denied&since=1h', meshlog.token);
  assert.ok((denied.body.events as unknown[]).length >= 1, 'a cross-tenant apply is audited as denied');
  assert.equal((await api('GET', '/api/v1/policy', keys.globexAdmin!.key, { tenant: 'acme' })).status, 403);
  assert.equal((await api('GET', '/api/v1/policy/drift', keys.globexAdmin!.key, { tenant: 'acme' })).status, 403);
  assert.equal((await api('GET', '/api/v1/policy/history', keys.analyst!.key, { tenant: 'acme' })).status, 403);
  // Its own tenant has no policy: acme's is not served in its place.
  assert.equal((await api('GET', '/api/v1/policy', keys.globexAdmin!.key, { tenant: 'globex' })).status, 404);
  const history = await api('GET', '/api/v1/policy/history', keys.auditor!.key, { tenant: 'acme' });
  assert.deepEqual(
    (history.body.versions as { version: number }[]).map((version) => version.version),
    [1, 2],
  );
});

test('an invalid policy is refused by the API with the line and key named, and nothing is applied', async () => {
  const bad = policyV2.replace('max_age: 730d', 'max_age: forever');
  const answer = await api('POST', '/api/v1/policy', keys.admin!.key, { body: { policy: bad } });
  assert.equal(answer.status, 400);
  assert.match(JSON.stringify(answer.body), /policy:12:14: retention\.0\.max_age: a duration/);
  const { body } = await api('GET', '/api/v1/policy', keys.auditor!.key, { tenant: 'acme' });
  assert.equal(body.policy.version, 2);
});

test('two applies at once become consecutive versions, each with the diff from the one before', async () => {
  const [a, b] = await Promise.all([
    api('POST', '/api/v1/policy', keys.admin!.key, { body: { policy: policyV1 } }),
    api('POST', '/api/v1/policy', keys.admin!.key, {
      body: { policy: policyV2.replace('owner: compliance@acme.example', 'owner: security@acme.example') },
    }),
  ]);
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.equal(b.status, 201, JSON.stringify(b.body));
  assert.deepEqual([a.body.policy.version, b.body.policy.version].sort(), [3, 4]);
  const history = await api('GET', '/api/v1/policy/history', keys.auditor!.key, { tenant: 'acme' });
  assert.deepEqual(
    (history.body.versions as { version: number }[]).map((version) => version.version),
    [1, 2, 3, 4],
  );
  const latest = [a.body.policy, b.body.policy].find((policy) => policy.version === 4);
  assert.equal(latest.signature.facts.previous_sha256, [a.body.policy, b.body.policy].find((policy) => policy.version === 3).sha256);
});
