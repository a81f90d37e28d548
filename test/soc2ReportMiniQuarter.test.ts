import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ReportSection, Soc2Report } from '../src/compliance/reportModel.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from './support/meshlogProcess.js';

/**
 * Change management (CC8.1) as an auditor samples it: every kind of change
 * made through the API, and a retention policy changed in the config file and
 * picked up by a restart, each appear in the change section under a kind named
 * for what it changed, with exact counts.
 */
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = tempDataDir('meshlog-changes-');
const configFile = join(dir, 'meshlog.yaml');
let meshlog: RunningMeshlog;
let soc2: Soc2Report;
let periodFrom: string;
let bobKey: string;
let contractorKey: string;
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

async function call(method: string, path: string, body?: unknown, expected = [200, 201, 202]): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme', ...(body === undefined ? {} : typeof body === 'string' ? { 'content-type': 'application/yaml' } : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(expected.includes(response.status), `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
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

  contractorKey = (await call('POST', '/api/v1/admin/keys', { name: 'contractor', roles: ['analyst'], tenants: ['acme'] })).id;
  await call('DELETE', `/api/v1/admin/keys/${contractorKey}`);
  await call('POST', '/api/v1/admin/users', { name: 'alice', roles: ['analyst'], tenants: ['acme'] });
  await call('PATCH', '/api/v1/admin/users/alice', { roles: ['analyst', 'auditor'] });
  await call('POST', '/api/v1/admin/tenants', { name: 'beta', description: 'second customer' });
  await call('POST', '/api/v1/admin/tenants/beta/disable');
  await call('POST', '/api/v1/admin/tenants/beta/enable');
  const erasure = (from: string) => call('POST', '/api/v1/admin/erasure-requests', { tenant: 'acme', selector: '{service_name="catalog"}', from, to: new Date().toISOString(), reason: 'DSR-1' });
  const cancelled = (await erasure(periodFrom)).request;
  await call('POST', `/api/v1/admin/erasure-requests/${cancelled.id}/cancel`, { reason: 'filed by mistake' });
  const executed = (await erasure(periodFrom)).request;
  await call('POST', `/api/v1/admin/erasure-requests/${executed.id}/execute`);
  const group = (threshold: number) => `name: latency\nrules:\n  - alert: SlowRequests\n    expr: sum(count_over_time({service_name="api"} |= "slow" [1m])) > ${threshold}\n`;
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
  const csv = await fetch(`${meshlog.url}/api/v1/export?format=csv&query=${encodeURIComponent('{service_name="checkout"}')}`, { headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme' } });
  assert.equal(csv.status, 200, await csv.text());

  // Two failed API logins and two failed UI logins reach the limit of four: the address is locked out (429).
  for (let attempt = 0; attempt < 2; attempt++) {
    const api = await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { authorization: 'Bearer mlk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    assert.equal(api.status, 401, await api.text());
  }
  const uiLogin = () => fetch(`${meshlog.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'mlk_000000000000_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }) });
  for (let attempt = 0; attempt < 2; attempt++) assert.equal((await uiLogin()).status, 401);
  assert.equal((await uiLogin()).status, 429, 'locked out');

  // The policy changed in the file, picked up by a restart.
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  writeConfig('2d');
  meshlog = await startMeshlog({ dataDir: join(dir, 'data'), args: ['--config', configFile], env: { ...lockoutLimits, MESHLOG_ADMIN_TOKEN: rotatedToken } });
  const run = spawnSync(process.execPath, [cli, 'report', 'soc2', '--from', periodFrom, '--format', 'json', '--server', meshlog.url], { encoding: 'utf8', env: { ...process.env, MESHLOG_TOKEN: rotatedToken } });
  assert.equal(run.status, 0, run.stderr);
  soc2 = JSON.parse(run.stdout) as Soc2Report;
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('every change made through the API is its own kind in the change section, counted exactly', () => {
  const changes = section('changes');
  const { config: _configChanges, ...apiChanges } = Object.fromEntries(Object.entries(changes.data.by_kind as Record<string, number>).map(([kind, count]) => [kind.startsWith('config.') ? 'config' : kind, count]));
  assert.deepEqual(apiChanges, {
    'storage.key_added': 1, // the first storage key, made by the first start
    'keys.create': 2,
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
  const configChanges = (section('changes').data.changes as { action: string; by: string; detail: { trigger: string; sha256: string; previous_sha256: string | null; diff: { path: string; from?: unknown; to?: unknown }[] } }[]).filter((change) => change.action === 'config.change');
  assert.equal(configChanges.length, 2, 'the first start (baseline) and the restart with the new policy');
  const [baseline, changed] = configChanges;
  assert.equal(baseline.detail.previous_sha256, null);
  assert.deepEqual(baseline.detail.diff, []);
  assert.equal(changed.detail.trigger, 'start');
  assert.equal(changed.detail.previous_sha256, baseline.detail.sha256);
  assert.equal(changed.by, 'server');
  assert.deepEqual(changed.detail.diff, [
    { path: 'retention.policies', from: [{ max_age: '1d', name: 'batch-short', service: 'nightly-batch', tenant: 'acme' }], to: [{ max_age: '2d', name: 'batch-short', service: 'nightly-batch', tenant: 'acme' }] },
  ]);
  assert.doesNotMatch(JSON.stringify(section('changes').data), /test-admin-token|a-rotated-admin-token/);
});

test('static files a browser fetches by itself are never audited', () => {
  const access = section('access');
  const failures = (access.data.failed_logins as { events: { target: string }[] }).events;
  const denials = (access.data.denied_requests as { events: { target: string }[] }).events;
  assert.deepEqual([...failures, ...denials].filter((event) => /favicon/.test(event.target)), []);
});

test('access: failed API and UI logins, the lockout, revocations by hand and by narrowed grants, and the user population, counted exactly', () => {
  const access = section('access');
  const failed = access.data.failed_logins as { total: number; by_channel: Record<string, number> };
  assert.equal(failed.total, 4);
  assert.deepEqual(failed.by_channel, { api: 2, ui: 2 });
  assert.equal((access.data.lockouts as { total: number }).total, 1);
  const revocations = access.data.revocations as { key_id: string; via: string }[];
  assert.deepEqual(revocations.map((revocation) => [revocation.key_id, revocation.via]), [[contractorKey, 'keys.revoke'], [bobKey, 'users.update']]);
  assert.match(access.reason, /1 lockouts \(429\)/);
  const users = access.data.users_as_of_period_end as { name: string; roles: string[]; tenants: string[]; state: string }[];
  assert.deepEqual(users.map((user) => [user.name, user.roles, user.tenants, user.state]), [['alice', ['analyst', 'auditor'], ['acme'], 'active'], ['bob', ['analyst'], ['acme'], 'active']]);
});

test('a CSV export is a data access of its tenant, by its reader', () => {
  const dataAccess = section('data_access');
  const exports = dataAccess.data.exports as { action: string; tenant: string; actor_name: string; requests: number }[];
  assert.deepEqual(exports.map((row) => [row.action, row.tenant, row.requests]), [['query.export', 'acme', 1]]);
});
