import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { unzipSync } from 'fflate';
import type { ReportSection, Soc2Report } from '../../../src/compliance/reportModel.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { assertFiguresShown, htmlVisibleText, reportFigures } from '../../support/reportFigures.js';

/**
 * Change management (CC8.1) as an auditor samples it: every kind of change
 * made through the API, and a retention policy changed in the config file and
 * picked up by a restart, each appear in the change section under a kind named
 * for what it changed, with exact counts.
 */
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const dir = tempDataDir('meshlog-changes-');
const configFile = join(dir, 'meshlog.yaml');
let meshlog: RunningMeshlog;
let soc2: Soc2Report;
let periodFrom: string;
let bobKey: string;
let reviewerKey: string;
let periodTo: string;
let regenerated: Soc2Report;
let regeneratedHtml: string;
/** One generation of the closed period in every format (a bundle), made after the changes that follow the period. */
let bundled: Soc2Report;
let bundledHtml: string;
let bundledPdfText: string;
let contractorKey: string;
let backupDir: string;
/** The report of the server started on the restored backup, from the start of the period to after the restore. */
let restoredReport: Soc2Report;
/** The production server's report from the start of the period to after the restore test was reported to it. */
let productionAfterRestore: Soc2Report;
/** What `meshlog restore --report-to` printed. */
let restoreOutput: string;
const rotatedToken = 'a-rotated-admin-token-0123456789';
const lockoutLimits = { MESHLOG_LIMITS_LOGIN_FAILURES_PER_ADDRESS: '4', MESHLOG_LIMITS_LOGIN_FAILURE_WINDOW_MS: '600000' };

const writeConfig = (maxAge: string) =>
  writeFileSync(
    configFile,
    `forward: { enabled: false }
syslog: { enabled: false }
otlp_grpc: { enabled: false }
retention:
  policies:
    - { name: batch-short, tenant: acme, service: nightly-batch, max_age: ${maxAge} }
`,
  );

async function call(method: string, path: string, body?: unknown, expected = [200, 201, 202], token = meshlog.token): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-scope-orgid': 'acme',
      ...(body === undefined
        ? {}
        : typeof body === 'string'
          ? { 'content-type': 'application/yaml' }
          : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(expected.includes(response.status), `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The report of the closed period, through the CLI, in one format. */
function report(format: 'json' | 'html'): Soc2Report | string {
  const run = spawnSync(
    process.execPath,
    [cli, 'report', 'soc2', '--from', periodFrom, '--to', periodTo, '--format', format, '--server', meshlog.url],
    { encoding: 'utf8', env: { ...process.env, MESHLOG_TOKEN: rotatedToken } },
  );
  assert.equal(run.status, 0, run.stderr);
  return format === 'json' ? (JSON.parse(run.stdout) as Soc2Report) : run.stdout;
}

const section = (id: string): ReportSection => soc2.sections.find((candidate) => candidate.id === id)!;

before(async () => {
  writeConfig('1d');
  periodFrom = new Date(Date.now() - 60_000).toISOString();
  meshlog = await startMeshlog({ dataDir: join(dir, 'data'), args: ['--config', configFile], env: lockoutLimits });

  // Static files a browser asks for on its own: public, never in the trail.
  for (let visit = 0; visit < 3; visit++) {
    const favicon = await fetch(`${meshlog.url}/favicon.ico`);
    assert.ok(favicon.status === 200 || favicon.status === 204, `favicon: ${favicon.status}`);
    await favicon.arrayBuffer();
  }

  reviewerKey = (await call('POST', '/api/v1/admin/keys', { name: 'reviewer', roles: ['auditor'], tenants: ['acme'] })).id;
  contractorKey = (await call('POST', '/api/v1/admin/keys', { name: 'contractor', roles: ['analyst'], tenants: ['acme'] })).id;
  await call('DELETE', `/api/v1/admin/keys/${contractorKey}`);
  await call('POST', '/api/v1/admin/users', { name: 'alice', roles: ['analyst'], tenants: ['acme'] });
  await call('PATCH', '/api/v1/admin/users/alice', { roles: ['analyst', 'auditor'] });
  await call('POST', '/api/v1/admin/tenants', { name: 'beta', description: 'second customer' });
  await call('POST', '/api/v1/admin/tenants/beta/disable');
  await call('POST', '/api/v1/admin/tenants/beta/enable');
  const erasure = (from: string) =>
    call('POST', '/api/v1/admin/erasure-requests', {
      tenant: 'acme',
      selector: '{service_name="catalog"}',
      from,
      to: new Date().toISOString(),
      reason: 'DSR-1',
    });
  const cancelled = (await erasure(periodFrom)).request;
  await call('POST', `/api/v1/admin/erasure-requests/${cancelled.id}/cancel`, { reason: 'filed by mistake' });
  const executed = (await erasure(periodFrom)).request;
  await call('POST', `/api/v1/admin/erasure-requests/${executed.id}/execute`);
  const group = (threshold: number) =>
    `name: latency\nrules:\n  - alert: SlowRequests\n    expr: sum(count_over_time({service_name="api"} |= "slow" [1m])) > ${threshold}\n`;
  await call('POST', '/loki/api/v1/rules/ops', group(100));
  await call('POST', '/loki/api/v1/rules/ops', group(200));
  await call('DELETE', '/loki/api/v1/rules/ops/latency');
  const silence = await call('POST', '/api/v1/silences', { matchers: { alertname: 'SlowRequests' }, duration: '1h', comment: 'deploying' });
  await call('DELETE', `/api/v1/silences/${silence.id}`);
  const { hold } = await call('POST', '/api/v1/admin/legal-holds', { name: 'litigation', tenant: 'acme', reason: 'counsel' });
  await call('DELETE', `/api/v1/admin/legal-holds/${hold.id}`);

  // A user's key revoked by narrowing the user's grants, and a CSV export.
  await call('POST', '/api/v1/admin/users', { name: 'bob', roles: ['analyst'], tenants: ['acme', 'beta'] });
  bobKey = (await call('POST', '/api/v1/admin/users/bob/keys', {})).id;
  await call('PATCH', '/api/v1/admin/users/bob', { tenants: ['acme'] });
  const csv = await fetch(`${meshlog.url}/api/v1/export?format=csv&query=${encodeURIComponent('{service_name="checkout"}')}`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' },
  });
  assert.equal(csv.status, 200, await csv.text());

  // A backup of the running server, taken in the period.
  backupDir = (await call('POST', '/api/v1/admin/backups', { name: 'quarterly' }, [201])).backup.path;

  // Services that say where they run only in resource attributes (no mesh line): EKS in prod-us, ECS without a cluster, GKE by its cloud.platform alone.
  for (const [service, resource] of [
    ['inventory', { 'cloud.platform': 'aws_eks', 'k8s.cluster.name': 'prod-us' }],
    ['billing', { 'cloud.platform': 'aws_ecs' }],
    ['search', { 'cloud.platform': 'gcp_kubernetes_engine' }],
  ] as const) {
    const request = JSON.parse(otlpJsonRequest(service, ['stock counted', 'stock counted again'])) as {
      resourceLogs: { resource: { attributes: unknown[] } }[];
    };
    for (const [key, value] of Object.entries(resource))
      request.resourceLogs[0].resource.attributes.push({ key, value: { stringValue: value } });
    const sent = await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify(request), { 'x-scope-orgid': 'acme' });
    assert.equal(sent.status, 200, await sent.text());
  }

  // Two secrets redacted at ingest, before a restart resets the server's counters.
  const logged = await postOtlpJson(
    meshlog.url,
    meshlog.token,
    otlpJsonRequest('checkout', ['paid with card 4111 1111 1111 1111', 'receipt to alice@example.com, card 4111 1111 1111 1111']),
    { 'x-scope-orgid': 'acme' },
  );
  assert.equal(logged.status, 200, await logged.text());

  // Two failed API logins and two failed UI logins reach the limit of four: the address is locked out (429).
  for (let attempt = 0; attempt < 2; attempt++) {
    const api = await fetch(`${meshlog.url}/loki/api/v1/labels`, {
      headers: { authorization: 'Bearer mlk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    assert.equal(api.status, 401, await api.text());
  }
  const uiLogin = () =>
    fetch(`${meshlog.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'mlk_000000000000_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }),
    });
  for (let attempt = 0; attempt < 2; attempt++) assert.equal((await uiLogin()).status, 401);
  assert.equal((await uiLogin()).status, 429, 'locked out');

  // The policy changed in the file, picked up by a restart; the quarter closes after it.
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  writeConfig('2d');
  meshlog = await startMeshlog({
    dataDir: join(dir, 'data'),
    args: ['--config', configFile],
    env: { ...lockoutLimits, MESHLOG_ADMIN_TOKEN: rotatedToken },
  });
  periodTo = new Date().toISOString();
  await waitFor(() => Date.now() > Date.parse(periodTo) + 1, { what: 'the period to be closed', intervalMs: 5 });
  soc2 = report('json') as Soc2Report;

  // After the period: a key active in it is revoked, another created, the policy changed again with a restart.
  await call('DELETE', `/api/v1/admin/keys/${reviewerKey}`, undefined, [200, 201, 202], rotatedToken);
  await call('POST', '/api/v1/admin/keys', { name: 'late', roles: ['analyst'], tenants: ['acme'] }, [201], rotatedToken);
  // And the alert rule group deleted in the period made again, with another threshold.
  await call('POST', '/loki/api/v1/rules/ops', group(300), [202], rotatedToken);
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  writeConfig('3d');
  meshlog = await startMeshlog({
    dataDir: join(dir, 'data'),
    args: ['--config', configFile],
    env: { ...lockoutLimits, MESHLOG_ADMIN_TOKEN: rotatedToken },
  });
  regenerated = report('json') as Soc2Report;
  regeneratedHtml = report('html') as string;
  // The closed period once more, every format from one generation, for the figure-by-figure comparison.
  const bundleFile = join(dir, 'quarter.zip');
  const bundle = spawnSync(
    process.execPath,
    [cli, 'report', 'soc2', '--from', periodFrom, '--to', periodTo, '--format', 'bundle', '--out', bundleFile, '--server', meshlog.url],
    { encoding: 'utf8', env: { ...process.env, MESHLOG_TOKEN: rotatedToken } },
  );
  assert.equal(bundle.status, 0, bundle.stderr);
  const files = unzipSync(readFileSync(bundleFile));
  bundled = JSON.parse(Buffer.from(files['soc2-report.json']!).toString('utf8')) as Soc2Report;
  bundledHtml = Buffer.from(files['soc2-report.html']!).toString('utf8');
  writeFileSync(join(dir, 'quarter.pdf'), files['soc2-report.pdf']!);
  const pdfText = spawnSync('pdftotext', ['-raw', join(dir, 'quarter.pdf'), '-'], { encoding: 'utf8' });
  assert.equal(pdfText.status, 0, pdfText.stderr);
  bundledPdfText = pdfText.stdout;

  // The restore test: the quarter's backup restored offline into a fresh data directory, a server started on it.
  const restoredDir = join(dir, 'restored');
  const restore = spawnSync(
    process.execPath,
    [cli, 'restore', '--from', backupDir, '--data-dir', restoredDir, '--report-to', meshlog.url],
    { encoding: 'utf8', env: { ...process.env, MESHLOG_TOKEN: rotatedToken } },
  );
  assert.equal(restore.status, 0, restore.stdout + restore.stderr);
  restoreOutput = restore.stdout;
  const afterRestore = spawnSync(
    process.execPath,
    [cli, 'report', 'soc2', '--from', periodFrom, '--format', 'json', '--server', meshlog.url],
    { encoding: 'utf8', env: { ...process.env, MESHLOG_TOKEN: rotatedToken } },
  );
  assert.equal(afterRestore.status, 0, afterRestore.stderr);
  productionAfterRestore = JSON.parse(afterRestore.stdout) as Soc2Report;
  const restored = await startMeshlog({ dataDir: restoredDir, args: ['--config', configFile] });
  try {
    const run = spawnSync(process.execPath, [cli, 'report', 'soc2', '--from', periodFrom, '--format', 'json', '--server', restored.url], {
      encoding: 'utf8',
      env: { ...process.env, MESHLOG_TOKEN: restored.token },
    });
    assert.equal(run.status, 0, run.stderr);
    restoredReport = JSON.parse(run.stdout) as Soc2Report;
  } finally {
    assert.equal(await restored.stop(), 0, restored.output());
  }
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('every change made through the API is its own kind in the change section, counted exactly', () => {
  const changes = section('changes');
  const { config: _configChanges, ...apiChanges } = Object.fromEntries(
    Object.entries(changes.data.by_kind as Record<string, number>).map(([kind, count]) => [
      kind.startsWith('config.') ? 'config' : kind,
      count,
    ]),
  );
  assert.deepEqual(apiChanges, {
    'storage.key_added': 1, // the first storage key, made by the first start
    'keys.create': 3,
    'keys.revoke': 1,
    'users.create': 2,
    'users.update': 2,
    'tenants.create': 1,
    'tenants.disable': 1,
    'tenants.enable': 1,
    'erasure.request': 2,
    'erasure.cancel': 1,
    'erasure.execute': 1,
    'alert_rules.create': 1,
    'alert_rules.update': 1,
    'alert_rules.delete': 1,
    'silences.create': 1,
    'silences.expire': 1,
    'legal_hold.place': 1,
    'legal_hold.release': 1,
  });
  const kinds = (changes.data.changes as { action: string }[]).map((change) => change.action);
  assert.ok(!kinds.includes('admin.read'), 'no change is recorded as a read');
});

test('a retention policy changed in the config file and picked up at restart is a config.change with the diff, secrets excluded', () => {
  const configChanges = (
    section('changes').data.changes as {
      action: string;
      by: string;
      detail: { trigger: string; sha256: string; previous_sha256: string | null; diff: { path: string; from?: unknown; to?: unknown }[] };
    }[]
  ).filter((change) => change.action === 'config.change');
  assert.equal(configChanges.length, 2, 'the first start (baseline) and the restart with the new policy');
  const [baseline, changed] = configChanges;
  assert.equal(baseline.detail.previous_sha256, null);
  assert.deepEqual(baseline.detail.diff, []);
  assert.equal(changed.detail.trigger, 'start');
  assert.equal(changed.detail.previous_sha256, baseline.detail.sha256);
  assert.equal(changed.by, 'server');
  assert.deepEqual(changed.detail.diff, [
    {
      path: 'retention.policies',
      from: [{ max_age: '1d', name: 'batch-short', service: 'nightly-batch', tenant: 'acme' }],
      to: [{ max_age: '2d', name: 'batch-short', service: 'nightly-batch', tenant: 'acme' }],
    },
  ]);
  assert.doesNotMatch(JSON.stringify(section('changes').data), /test-admin-token|a-rotated-admin-token/);
});

test('static files a browser fetches by itself are never audited', () => {
  const access = section('access');
  const failures = (access.data.failed_logins as { events: { target: string }[] }).events;
  const denials = (access.data.denied_requests as { events: { target: string }[] }).events;
  assert.deepEqual(
    [...failures, ...denials].filter((event) => /favicon/.test(event.target)),
    [],
  );
});

test('access: failed API and UI logins, the lockout, revocations by hand and by narrowed grants, and the user population, counted exactly', () => {
  const access = section('access');
  const failed = access.data.failed_logins as { total: number; by_channel: Record<string, number> };
  assert.equal(failed.total, 4);
  assert.deepEqual(failed.by_channel, { api: 2, ui: 2 });
  assert.equal((access.data.lockouts as { total: number }).total, 1);
  const revocations = access.data.revocations as { key_id: string; via: string }[];
  assert.deepEqual(
    revocations.map((revocation) => [revocation.key_id, revocation.via]),
    [
      [contractorKey, 'keys.revoke'],
      [bobKey, 'users.update'],
    ],
  );
  assert.match(access.reason, /1 lockouts \(429\)/);
  const users = access.data.users_as_of_period_end as { name: string; roles: string[]; tenants: string[]; state: string }[];
  assert.deepEqual(
    users.map((user) => [user.name, user.roles, user.tenants, user.state]),
    [
      ['alice', ['analyst', 'auditor'], ['acme'], 'active'],
      ['bob', ['analyst'], ['acme'], 'active'],
    ],
  );
});

test('a CSV export is a data access of its tenant, by its reader', () => {
  const dataAccess = section('data_access');
  const exports = dataAccess.data.exports as { action: string; tenant: string; actor_name: string; requests: number }[];
  assert.deepEqual(
    exports.map((row) => [row.action, row.tenant, row.requests]),
    [['query.export', 'acme', 1]],
  );
});

test('a closed period regenerated after a key revocation, a new key and a configuration change has the same period evidence hash, in JSON and HTML', () => {
  assert.equal(regenerated.period.to, soc2.period.to);
  assert.deepEqual(regenerated.period_evidence.sections, [
    'coverage',
    'access',
    'access_review',
    'data_access',
    'changes',
    'redaction',
    'monitoring',
    'incidents',
    'policy',
    'availability',
  ]);
  assert.equal(regenerated.period_evidence.sha256, soc2.period_evidence.sha256);
  assert.equal(/<code id="period-evidence-sha256">([0-9a-f]{64})<\/code>/.exec(regeneratedHtml)?.[1], soc2.period_evidence.sha256);
  // The revoked key was active at the end of the period, and the key made after it is not part of it.
  const keys = section('access').data.keys_as_of_period_end as {
    id: string;
    name: string;
    state_at_period_end: string;
    revoked_at: string | null;
  }[];
  const reviewer = keys.find((key) => key.id === reviewerKey);
  assert.deepEqual([reviewer?.state_at_period_end, reviewer?.revoked_at], ['active', null]);
  assert.ok(!keys.some((key) => key.name === 'late'));
});

test('IPE: every figure of every section of the quarter is the same number in the JSON, the HTML and the PDF (pdftotext), beside its label', () => {
  assert.equal(bundled.period_evidence.sha256, soc2.period_evidence.sha256, 'the bundle is the same closed period');
  const figures = reportFigures(bundled);
  // The known counts of the quarter are among them, under the labels the renderings print.
  for (const [section, shown] of [
    ['changes', 'alert rules.create 1'],
    ['changes', 'alert rules.update 1'],
    ['changes', 'alert rules.delete 1'],
    ['monitoring', 'rule groups in force (2)'],
  ] as const) {
    assert.ok(
      figures.some((figure) => figure.section === section && figure.shown === shown),
      `${section}: ${shown} in ${JSON.stringify(figures.filter((figure) => figure.section === section).map((figure) => figure.shown))}`,
    );
  }
  assertFiguresShown(bundled, htmlVisibleText(bundledHtml), 'HTML');
  assertFiguresShown(bundled, bundledPdfText, 'PDF');
});

test('monitoring: the rule groups in force are replayed from the audited rule changes of the period; a rule made again after it changes neither the section nor the hash', () => {
  const monitoring = section('monitoring');
  const groups = monitoring.data.rule_groups_in_force as {
    tenant: string;
    namespace: string;
    group: string;
    from: string;
    to: string;
    set_at: string;
    rules: { alert: string; expr: string }[];
  }[];
  assert.deepEqual(
    groups.map((group) => [group.tenant, group.namespace, group.group, group.rules.map((rule) => rule.expr)]),
    [
      ['acme', 'ops', 'latency', ['sum(count_over_time({service_name="api"} |= "slow" [1m])) > 100']],
      ['acme', 'ops', 'latency', ['sum(count_over_time({service_name="api"} |= "slow" [1m])) > 200']],
    ],
  );
  // The first version was in force until the update replaced it; the second until the delete, inside the period.
  assert.equal(groups[0]!.to, groups[1]!.set_at);
  assert.ok(Date.parse(groups[1]!.to) < Date.parse(soc2.period.to));
  assert.ok(groups.every((group) => group.from >= soc2.period.from && group.to <= soc2.period.to));
  // Deleted before the period closed: nothing of the ruler watched the logs at its end.
  assert.equal(monitoring.status, 'attention');
  assert.match(monitoring.reason, /^no alert rules configured at the end of the period \(2 rule group versions were in force during it\)/);
  assert.deepEqual(
    regenerated.sections.find((candidate) => candidate.id === 'monitoring'),
    monitoring,
    'regenerated after the group was made again with 300',
  );
  assert.ok(!JSON.stringify(regenerated).includes('> 300'));
  assert.ok(regenerated.period_evidence.sections.includes('monitoring'));
  assert.equal(regenerated.period_evidence.sha256, soc2.period_evidence.sha256);
});

test('every timestamp of the report is UTC ISO 8601 with Z', () => {
  const times: string[] = [];
  const walk = (value: unknown, name: string): void => {
    if (typeof value === 'string' && /^(time|from|to|first|last|first_seen|last_seen|first_commit|last_commit|oldest)$|_at$/.test(name))
      times.push(`${name}=${value}`);
    else if (Array.isArray(value)) value.forEach((item) => walk(item, name));
    else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) if (key !== 'provenance') walk(item, key);
  };
  walk(soc2, '');
  assert.ok(times.length > 50, `${times.length} timestamps`);
  assert.deepEqual(
    times.filter((time) => !/=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(time)),
    [],
  );
});

test('the population behind the change and failed-login counts exports whole, as CSV from the CLI and NDJSON from the API, for the closed period', async () => {
  const run = spawnSync(
    process.execPath,
    [cli, 'audit', '--population', 'changes', '--from', periodFrom, '--to', periodTo, '--output', 'csv', '--server', meshlog.url],
    { encoding: 'utf8', env: { ...process.env, MESHLOG_TOKEN: rotatedToken } },
  );
  assert.equal(run.status, 0, run.stderr);
  const rows = run.stdout.trim().split('\n');
  assert.equal(rows[0], 'time,action,outcome,actor_id,actor_name,actor_kind,remote_address,tenant,target,detail');
  assert.equal(rows.length - 1, section('changes').data.total);
  const response = await fetch(
    `${meshlog.url}/api/v1/audit/export?population=failed_logins&format=ndjson&from=${encodeURIComponent(periodFrom)}&to=${encodeURIComponent(periodTo)}`,
    { headers: { authorization: `Bearer ${rotatedToken}` } },
  );
  assert.equal(response.status, 200);
  const events = (await response.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { action: string });
  const access = section('access').data as { failed_logins: { total: number }; lockouts: { total: number } };
  assert.equal(events.length, access.failed_logins.total + access.lockouts.total);
});

test('values redacted in the period are counted from the stored records, through a restart', () => {
  const redaction = section('redaction');
  assert.deepEqual(redaction.data.redactions_per_rule, { credit_card: 2, email: 1 });
  assert.equal(redaction.data.mode, 'redact');
  assert.match(redaction.reason, /3 values redacted in the period's stored records/);
});

test('coverage: platforms and clusters come from resource attributes too (GKE is kubernetes, not vm), and a period under an hour has no silent hour', () => {
  const coverage = section('coverage');
  const services = coverage.data.services as {
    service: string;
    records: number;
    platforms: string[];
    clusters: string[];
    meshes: string[];
  }[];
  assert.deepEqual(
    services.map((row) => [row.service, row.records, row.platforms, row.clusters, row.meshes]),
    [
      ['billing', 2, ['ecs'], [], []],
      ['checkout', 2, [], [], []],
      ['inventory', 2, ['kubernetes'], ['prod-us'], []],
      ['search', 2, ['kubernetes'], [], []],
    ],
  );
  assert.deepEqual(coverage.data.platforms, { ecs: 1, kubernetes: 2 });
  assert.deepEqual(coverage.data.clusters, { 'prod-us': 1 });
  assert.deepEqual(coverage.data.meshes, {});
  assert.equal(coverage.data.total_records, 8);
  assert.deepEqual(coverage.data.gaps, []);
  assert.equal(coverage.reason, '4 services logged 8 records with no silent hour');
});

test('availability: the backup taken in the period, counted exactly, with no restore test yet', () => {
  const availability = section('availability');
  assert.deepEqual(availability.criteria, ['A1.2', 'A1.3']);
  const backups = availability.data.backups as {
    total: number;
    succeeded: number;
    failed: number;
    events: { outcome: string; by: string; target: string }[];
  };
  assert.deepEqual([backups.total, backups.succeeded, backups.failed], [1, 1, 0]);
  assert.deepEqual(
    backups.events.map((event) => [event.outcome, event.target]),
    [['success', backupDir]],
  );
  assert.deepEqual(availability.data.restores, { total: 0, verified: 0, events: [] });
  assert.equal(availability.data.last_restore_test, null);
  assert.equal((availability.data.lifecycle as unknown[]).length, 3, 'start, stop, start');
  assert.equal(availability.status, 'pass');
  assert.equal(availability.reason, '3 starts and stops, all clean; 1 of 1 backups succeeded, 0 restores (no restore test in the period)');
});

test('availability: a restore of the backup is the last restore test in the restored server’s report, verified', () => {
  const availability = restoredReport.sections.find((candidate) => candidate.id === 'availability')!;
  const restores = availability.data.restores as { total: number; verified: number; events: { passed: boolean }[] };
  assert.deepEqual([restores.total, restores.verified], [1, 1]);
  const last = availability.data.last_restore_test as {
    time: string;
    backup_created_at: string;
    verification: { ok: boolean; findings: number };
    passed: boolean;
  };
  assert.deepEqual([last.passed, last.verification.ok, last.verification.findings], [true, true, 0]);
  assert.ok(Date.parse(last.backup_created_at) < Date.parse(last.time), `${last.backup_created_at} before ${last.time}`);
  // The restored server's start follows the backed-up server's start with no stop between: a restore, not a crash.
  const lifecycle = availability.data.lifecycle as { action: string; after_restore?: boolean }[];
  assert.deepEqual(
    lifecycle.map((event) => [event.action, event.after_restore ?? false]),
    [
      ['server.start', false],
      ['server.start', true],
    ],
    'the backup was taken in the first run',
  );
  assert.deepEqual(availability.data.unclean_restarts, []);
  assert.equal(availability.status, 'pass', availability.reason);
  assert.match(availability.reason, new RegExp(`1 restores \\(last restore test ${last.time.replace(/\./g, '\\.')}, verified\\)$`));
});

test('availability: a restore test run elsewhere and reported with --report-to is in the production report, tied to the period’s backup by its manifest hash', () => {
  assert.match(restoreOutput, new RegExp(`restore test recorded at ${meshlog.url.replaceAll('.', '\\.')} \\(passed\\)`));
  const availability = productionAfterRestore.sections.find((candidate) => candidate.id === 'availability')!;
  const manifestSha256 = createHash('sha256')
    .update(readFileSync(join(backupDir, 'backup.json')))
    .digest('hex');
  const backups = availability.data.backups as { events: { manifest_sha256: string }[] };
  assert.deepEqual(
    backups.events.map((event) => event.manifest_sha256),
    [manifestSha256],
  );
  const tests = availability.data.restore_tests as {
    total: number;
    passed: number;
    events: {
      backup_manifest_sha256: string;
      backup_in_period: boolean;
      reported_by: string;
      rows: number;
      verification: { ok: boolean; findings: number; chains: number };
      passed: boolean;
    }[];
  };
  assert.deepEqual([tests.total, tests.passed], [1, 1]);
  const [only] = tests.events;
  assert.equal(only!.backup_manifest_sha256, manifestSha256);
  assert.equal(only!.backup_in_period, true);
  assert.equal(only!.reported_by, 'bootstrap admin');
  assert.deepEqual([only!.verification.ok, only!.verification.findings], [true, 0]);
  assert.ok(only!.rows > 0 && only!.verification.chains >= 1, JSON.stringify(only));
  const last = availability.data.last_restore_test as { kind: string; time: string; passed: boolean };
  assert.equal(last.kind, 'restore test reported by meshlog restore --report-to');
  assert.equal(availability.status, 'pass', availability.reason);
  assert.match(
    availability.reason,
    new RegExp(`0 restores, 1 restore tests reported \\(last restore test ${last.time.replace(/\./g, '\\.')}, verified\\)$`),
  );
});

test('a restore test is recorded only by an admin of every tenant, and only in its exact shape', async () => {
  const auditor = (
    await call('POST', '/api/v1/admin/keys', { name: 'restore-claimer', roles: ['auditor'], tenants: ['*'] }, [201], rotatedToken)
  ).key as string;
  const acmeAdmin = (
    await call('POST', '/api/v1/admin/keys', { name: 'acme-admin', roles: ['admin'], tenants: ['acme'] }, [201], rotatedToken)
  ).key as string;
  const claim = {
    backup: { manifest_sha256: 'a'.repeat(64), source: '/srv/meshlog', created_at: '2026-01-01T00:00:00.000Z', cut_at: null },
    restored_at: '2026-01-02T00:00:00.000Z',
    restored_by: 'mallory',
    host: 'elsewhere',
    tables: 1,
    rows: 1,
    verification: { ok: true, chains: 1, batches: 1, records: 1, checkpoints: 1, findings: 0 },
  };
  const post = (token: string, body: unknown) =>
    fetch(`${meshlog.url}/api/v1/admin/backups/restore-tests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await post(auditor, claim)).status, 403, 'an auditor cannot claim a restore test');
  assert.equal((await post(acmeAdmin, claim)).status, 403, 'an admin of one tenant cannot claim one for the installation');
  for (const bad of [
    { ...claim, extra: true },
    { ...claim, rows: -1 },
    { ...claim, backup: { ...claim.backup, manifest_sha256: 'not-a-hash' } },
    { ...claim, restored_at: 'yesterday' },
    [],
  ]) {
    const response = await post(rotatedToken, bad);
    assert.equal(response.status, 400, `${JSON.stringify(bad)}: ${await response.text()}`);
  }
});

test('retention: the policies in force come from the configurations recorded in the period (1d, then 2d after the restart), not the running one (3d)', () => {
  const inForce = section('retention').data.policies_in_force as {
    from: string;
    to: string;
    config_sha256: string;
    policies: { policy: string; max_age: string }[];
  }[];
  const batchShort = (entry: (typeof inForce)[number]) => entry.policies.find((policy) => policy.policy === 'batch-short')!.max_age;
  assert.deepEqual(inForce.map(batchShort), ['1d', '2d']);
  assert.equal(inForce[1]!.from, inForce[0]!.to, 'one configuration follows the other');
  assert.equal(inForce[1]!.to, soc2.period.to);
  assert.ok(Date.parse(inForce[0]!.from) >= Date.parse(soc2.period.from));
  assert.ok(inForce.every((entry) => /^[0-9a-f]{64}$/.test(entry.config_sha256)));
  const regeneratedRetention = regenerated.sections.find((candidate) => candidate.id === 'retention')!;
  assert.deepEqual(
    regeneratedRetention.data.policies_in_force,
    inForce,
    'regenerated under the 3d configuration, the period still shows 1d and 2d',
  );
});

test('retention: every erasure request of the period with who asked, who answered, the response time and the deadline it met', () => {
  const retention = section('retention');
  const requests = retention.data.erasure_requests as {
    id: string;
    status: string;
    requested_by: string;
    closed_by: string;
    cancel_reason: string | null;
    requested_at: string;
    closed_at: string;
    execute_after: string;
    deadline: string;
    response_seconds: number;
    on_time: boolean;
    records_erased: number | null;
  }[];
  assert.deepEqual(
    requests.map((request) => [request.status, request.requested_by, request.closed_by, request.cancel_reason, request.on_time]),
    [
      ['cancelled', 'bootstrap admin', 'bootstrap admin', 'filed by mistake', true],
      ['executed', 'bootstrap admin', 'bootstrap admin', null, true],
    ],
  );
  for (const request of requests) {
    assert.equal(request.response_seconds, (Date.parse(request.closed_at) - Date.parse(request.requested_at)) / 1000);
    // The default cancellation window (24h) and check interval (60 s) of the configuration in force.
    assert.equal(Date.parse(request.execute_after) - Date.parse(request.requested_at), 86_400_000);
    assert.equal(Date.parse(request.deadline) - Date.parse(request.execute_after), 60_000);
  }
  assert.equal(typeof requests[1]!.records_erased, 'number');
  assert.match(retention.reason, /; 2 erasure requests, 1 executed by their deadline; /);
});
