import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ReportSection, ServiceCoverageRow, Soc2Report } from '../../../src/api/reports.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const hourMs = 3_600_000;
const hostileService = '<script>alert(1)</script>';
const sectionIds = [
  'coverage',
  'integrity',
  'retention',
  'access',
  'access_review',
  'data_access',
  'changes',
  'transmission',
  'redaction',
  'monitoring',
  'incidents',
  'policy',
  'availability',
  'capacity',
];

let meshlog: RunningMeshlog;
const keys: Record<string, { id: string; key: string }> = {};
/** An hour whose hour before and after have logs for `checkout`, and nothing in it. */
let gapHour: number;
let periodFrom: string;
const outDir = tempDataDir('meshlog-report-');

function meshlogCli(args: string[], token: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cli, ...args, '--server', meshlog.url], {
    encoding: 'utf8',
    env: { ...process.env, MESHLOG_TOKEN: token },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function createKey(name: string, role: string, tenant: string): void {
  const run = meshlogCli(['keys', 'create', '--name', name, '--role', role, '--tenant', tenant, '--output', 'json'], meshlog.token);
  assert.equal(run.status, 0, run.stderr);
  keys[name] = JSON.parse(run.stdout) as { id: string; key: string };
}

async function ingest(service: string, atMs: number, body: string, resource: Record<string, string> = {}): Promise<void> {
  const request = JSON.parse(otlpJsonRequest(service, [body], { timeUnixNano: `${BigInt(atMs) * 1_000_000n}` })) as {
    resourceLogs: { resource: { attributes: unknown[] } }[];
  };
  for (const [key, value] of Object.entries(resource))
    request.resourceLogs[0].resource.attributes.push({ key, value: { stringValue: value } });
  const response = await postOtlpJson(meshlog.url, keys.shipper.key, JSON.stringify(request), { 'x-scope-orgid': 'acme' });
  assert.equal(response.status, 200, await response.text());
}

/** An Istio/Envoy access log line of the checkout sidecar, written at `atMs`. */
const envoyLine = (atMs: number) =>
  `[${new Date(atMs).toISOString()}] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default`;

function report(args: string[], token: string): { status: number | null; stdout: string; stderr: string } {
  return meshlogCli(['report', 'soc2', '--from', periodFrom, ...args], token);
}

function section(soc2: Soc2Report, id: string): ReportSection {
  const found = soc2.sections.find((candidate) => candidate.id === id);
  assert.ok(found, `section ${id}`);
  return found;
}

before(async () => {
  meshlog = await startMeshlog({ env: { MESHLOG_REPORTS_MONTHLY: 'true' } });
  createKey('shipper', 'ingester', 'acme');
  createKey('analyst', 'analyst', 'acme');
  createKey('auditor', 'auditor', '*');
  createKey('acme auditor', 'auditor', 'acme');
  createKey('dormant', 'analyst', 'beta');
  createKey('temporary', 'analyst', 'acme');
  assert.equal(meshlogCli(['keys', 'revoke', keys.temporary.id], meshlog.token).status, 0);

  // checkout logs every hour of the last five but one; the hostile service once.
  const base = Math.floor(Date.now() / hourMs) * hourMs - 5 * hourMs;
  gapHour = base + 2 * hourMs;
  periodFrom = new Date(base - hourMs).toISOString();
  for (const hour of [0, 1, 3, 4]) {
    const at = base + hour * hourMs + 600_000;
    await ingest('checkout', at, envoyLine(at), { 'k8s.pod.name': 'checkout-7d9f', 'k8s.cluster.name': 'prod-eu' });
  }
  await ingest(hostileService, base + 4 * hourMs + 900_000, 'paid with card 4111 1111 1111 1111');

  // Refused: bad credentials (auth.failure), another tenant (access.denied).
  for (let attempt = 0; attempt < 6; attempt++) {
    const response = await fetch(`${meshlog.url}/loki/api/v1/labels`, {
      headers: { authorization: 'Bearer mlk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    assert.equal(response.status, 401);
  }
  const denied = await fetch(`${meshlog.url}/loki/api/v1/labels`, {
    headers: { authorization: `Bearer ${keys.analyst.key}`, 'x-scope-orgid': 'beta' },
  });
  assert.equal(denied.status, 403);
  const query = await fetch(`${meshlog.url}/loki/api/v1/labels`, {
    headers: { authorization: `Bearer ${keys.analyst.key}`, 'x-scope-orgid': 'acme' },
  });
  assert.equal(query.status, 200, await query.text());
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('the JSON report, generated through the CLI by an auditor, carries every section with the right data and status', async () => {
  const out = join(outDir, 'report.json');
  const run = report(['--format', 'json', '--out', out], keys.auditor.key);
  assert.equal(run.status, 0, run.stderr);
  const text = readFileSync(out, 'utf8');
  const soc2 = JSON.parse(text) as Soc2Report;
  assert.match(run.stderr, new RegExp(`evidence sha256 ${createHash('sha256').update(text).digest('hex')}`));
  assert.deepEqual(
    soc2.sections.map((item) => item.id),
    sectionIds,
  );
  assert.deepEqual(
    soc2.summary.map((item) => [item.id, item.status]),
    soc2.sections.map((item) => [item.id, item.status]),
  );
  assert.equal(soc2.generated_by.name, 'auditor');
  assert.equal(soc2.tenant, null);
  for (const item of soc2.sections) {
    assert.ok(item.criteria.length > 0 && item.reason.length > 0, item.id);
    assert.ok(['pass', 'attention', 'fail'].includes(item.status), item.id);
  }

  const coverage = section(soc2, 'coverage');
  const services = coverage.data.services as ServiceCoverageRow[];
  const checkout = services.find((row) => row.service === 'checkout');
  assert.deepEqual(
    {
      tenant: checkout?.tenant,
      records: checkout?.records,
      platforms: checkout?.platforms,
      clusters: checkout?.clusters,
      receivers: checkout?.receivers,
    },
    { tenant: 'acme', records: 4, platforms: ['kubernetes'], clusters: ['prod-eu'], receivers: ['otlp_http'] },
  );
  assert.equal(checkout?.meshes.length, 1, 'the mesh of the access log');
  assert.deepEqual(coverage.data.clusters, { 'prod-eu': 1 });
  assert.ok(services.some((row) => row.service === hostileService));
  assert.ok(!services.some((row) => row.tenant.startsWith('_')), 'the audit trail is not client coverage');
  // Silent hours count from the period's start: the hour before checkout's first record is one, and every hour before the hostile service's only record.
  const periodStart = Date.parse(periodFrom);
  const hoursFromStart = (...offsets: number[]) => offsets.map((offset) => new Date(periodStart + offset * hourMs).toISOString());
  // Should the report have been made an hour later than the records, the hours since are silent for both.
  const lastComplete = Math.floor(Date.parse(soc2.generated_at) / hourMs) * hourMs - hourMs;
  const since = hoursFromStart(...Array.from({ length: Math.max(0, (lastComplete - periodStart) / hourMs - 5) }, (_, i) => 6 + i));
  assert.deepEqual(coverage.data.gaps, [
    { tenant: 'acme', service: hostileService, hours: [...hoursFromStart(0, 1, 2, 3, 4), ...since] },
    { tenant: 'acme', service: 'checkout', hours: [...hoursFromStart(0), new Date(gapHour).toISOString(), ...since] },
  ]);
  assert.equal(
    coverage.reason,
    `2 of 2 services had hours without logs: ${7 + 2 * since.length} service-hours in all, the most ${5 + since.length} hours (acme/${hostileService})`,
  );
  assert.equal(coverage.status, 'attention');
  assert.equal(
    (coverage.data.volume_per_day as { records: number }[]).reduce((sum, row) => sum + row.records, 0),
    5,
  );

  const integrity = section(soc2, 'integrity');
  assert.equal(integrity.status, 'pass', integrity.reason);
  const verification = integrity.data.verification as { ok: boolean; records: number; findings_total: number };
  assert.equal(verification.ok, true);
  assert.equal(verification.findings_total, 0);
  const chains = integrity.data.chains as { tenant: string; head_batch_seq: number; head_hash: string }[];
  assert.ok(
    chains.some((chain) => chain.tenant === 'acme' && chain.head_batch_seq >= 5 && /^[0-9a-f]{64}$/.test(chain.head_hash)),
    JSON.stringify(chains),
  );

  const access = section(soc2, 'access');
  const granted = (access.data.grants as { name: string; key_id: string }[]).map((grant) => grant.name);
  assert.deepEqual(granted, ['shipper', 'analyst', 'auditor', 'acme auditor', 'dormant', 'temporary']);
  assert.deepEqual(
    (access.data.revocations as { key_id: string }[]).map((revocation) => revocation.key_id),
    [keys.temporary.id],
  );
  const byId = new Map(
    (access.data.keys_as_of_period_end as { id: string; state_at_period_end: string }[]).map((key) => [key.id, key.state_at_period_end]),
  );
  assert.equal(byId.get(keys.temporary.id), 'revoked');
  assert.equal(byId.get(keys.dormant.id), 'active');
  const neverUsed = (access.data.never_used_keys as { id: string }[]).map((key) => key.id);
  assert.ok(neverUsed.includes(keys.dormant.id) && !neverUsed.includes(keys.shipper.id), JSON.stringify(neverUsed));
  const failed = access.data.failed_logins as { total: number };
  assert.equal(failed.total, 6);
  assert.equal((access.data.denied_requests as { by_identity: Record<string, number> }).by_identity.analyst, 1);
  assert.equal(access.status, 'attention');
  assert.match(access.reason, /6 failed logins from/);

  const dataAccess = section(soc2, 'data_access');
  const reads = dataAccess.data.reads as { actor_name: string; action: string; tenant: string; requests: number }[];
  assert.ok(
    reads.some((read) => read.actor_name === 'analyst' && read.action === 'query' && read.tenant === 'acme' && read.requests === 1),
    JSON.stringify(reads),
  );
  assert.equal(dataAccess.status, 'pass');

  const changes = section(soc2, 'changes');
  assert.equal((changes.data.changes as { action: string }[]).filter((change) => change.action === 'keys.create').length, 6);
  assert.equal(changes.status, 'attention', 'keys were created with the bootstrap admin token');

  const transmission = section(soc2, 'transmission');
  assert.equal(transmission.status, 'attention', 'plaintext on loopback in this test');
  assert.ok(
    (transmission.data.listeners as { listener: string; tls: boolean }[]).some((listener) => listener.listener === 'http' && !listener.tls),
  );

  const redaction = section(soc2, 'redaction');
  assert.equal(redaction.status, 'pass');
  assert.equal((redaction.data.redactions_per_rule as Record<string, number>).credit_card, 1);

  assert.equal(section(soc2, 'monitoring').status, 'attention');
  assert.match(section(soc2, 'monitoring').reason, /no alert rules configured/);
  // No backup was taken in this test's period: A1.2 wants one.
  assert.equal(section(soc2, 'availability').status, 'attention');
  assert.match(section(soc2, 'availability').reason, /^no backup succeeded in the period \(meshlog backup\); 0 of 0 backups succeeded/);
});

test('the HTML report has every section, escapes hostile values and embeds the evidence it hashes', async () => {
  const out = join(outDir, 'report.html');
  const run = report(['--format', 'html', '--out', out], keys.auditor.key);
  assert.equal(run.status, 0, run.stderr);
  const html = readFileSync(out, 'utf8');
  for (const id of sectionIds) assert.ok(html.includes(`<section id="${id}"`), id);
  assert.ok(!html.includes(hostileService), 'the hostile service name is never raw markup');
  assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
  assert.ok(
    !/<link|<img|src=|https?:\/\//.test(html.replace(/<script type="application\/json" id="evidence">[\s\S]*?<\/script>/, '')),
    'no external asset',
  );
  const sha = /<code id="evidence-sha256">([0-9a-f]{64})<\/code>/.exec(html)?.[1];
  const evidence = /<script type="application\/json" id="evidence">([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(sha && evidence);
  assert.equal(
    createHash('sha256')
      .update(JSON.stringify(JSON.parse(evidence), null, 2))
      .digest('hex'),
    sha,
  );
  assert.equal((JSON.parse(evidence) as Soc2Report).sections.length, sectionIds.length);
  assert.match(run.stderr, new RegExp(sha));
});

test('a tenant report reads only that tenant; generating reports is audited', async () => {
  const scoped = report(['--format', 'json', '--tenant', 'acme'], keys['acme auditor'].key);
  assert.equal(scoped.status, 0, scoped.stderr);
  const soc2 = JSON.parse(scoped.stdout) as Soc2Report;
  assert.equal(soc2.tenant, 'acme');
  assert.ok((section(soc2, 'coverage').data.services as { tenant: string }[]).every((row) => row.tenant === 'acme'));
  assert.ok(
    !(section(soc2, 'access').data.keys_as_of_period_end as { id: string }[]).some((key) => key.id === keys.dormant.id),
    'a beta-only key is not part of an acme report',
  );

  const events = await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=report.`, {
    headers: { authorization: `Bearer ${keys.auditor.key}` },
  });
  const generated = ((await events.json()) as { events: { actor_name: string; outcome: string; detail: string }[] }).events;
  assert.ok(generated.filter((event) => event.outcome === 'success').length >= 3, JSON.stringify(generated));
  assert.ok(generated.every((event) => event.outcome !== 'success' || /"sha256":"[0-9a-f]{64}"/.test(event.detail)));
});

test('only auditors (and admins) get reports, and only over the tenants they hold', async () => {
  const analyst = report(['--format', 'json'], keys.analyst.key);
  assert.notEqual(analyst.status, 0);
  assert.match(analyst.stderr, /server answered 403/);
  // Without --tenant, an auditor of one tenant gets that tenant's report, never every tenant's.
  const narrow = report(['--format', 'json'], keys['acme auditor'].key);
  assert.equal(narrow.status, 0, narrow.stderr);
  assert.equal((JSON.parse(narrow.stdout) as { tenant: string | null }).tenant, 'acme');
  const otherTenant = report(['--format', 'json', '--tenant', 'beta'], keys['acme auditor'].key);
  assert.match(otherTenant.stderr, /403/);
  const badFormat = await fetch(`${meshlog.url}/api/v1/reports/soc2?from=${encodeURIComponent(periodFrom)}&format=xml`, {
    headers: { authorization: `Bearer ${keys.auditor.key}` },
  });
  assert.equal(badFormat.status, 400);
});

test('a report from the epoch (from=0) or over years is refused with 400 naming the limit, instead of listing every hour since 1970', async () => {
  for (const [from, to] of [
    ['0', ''],
    ['2020-01-01T00:00:00Z', '2022-01-01T00:00:00Z'],
  ]) {
    const response = await fetch(
      `${meshlog.url}/api/v1/reports/soc2?from=${encodeURIComponent(from)}${to ? `&to=${encodeURIComponent(to)}` : ''}&format=json`,
      { headers: { authorization: `Bearer ${keys.auditor.key}` } },
    );
    const text = await response.text();
    assert.equal(response.status, 400, text);
    assert.match(text, /a report covers at most 400 days/);
  }
  // A full year still reports.
  const year = await fetch(
    `${meshlog.url}/api/v1/reports/soc2?from=${encodeURIComponent(new Date(Date.now() - 365 * 86_400_000).toISOString())}&format=json`,
    { headers: { authorization: `Bearer ${keys.auditor.key}` } },
  );
  assert.equal(year.status, 200, await year.clone().text());
  assert.equal(((await year.json()) as Soc2Report).report, 'soc2');
});

test('the PDF, printed by headless chromium from the HTML, holds the summary and every section', async () => {
  const out = join(outDir, 'report.pdf');
  const run = report(['--format', 'pdf', '--out', out], keys.auditor.key);
  assert.equal(run.status, 0, run.stderr);
  const pdf = readFileSync(out);
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const text = spawnSync('pdftotext', ['-layout', out, '-'], { encoding: 'utf8' });
  assert.equal(text.status, 0, text.stderr);
  for (const title of [
    'SOC 2 evidence report',
    'Logging coverage',
    'Log integrity',
    'Logical access',
    'Data access review',
    'Change management',
    'Transmission protection',
    'PII redaction',
    'Monitoring',
    'Availability',
    'Retention and disposal',
    'Capacity',
  ]) {
    assert.ok(text.stdout.includes(title), title);
  }
  assert.ok(text.stdout.includes('<script>alert(1)'), 'the hostile name is printed as text');
  assert.match(text.stdout, new RegExp(/evidence sha256 ([0-9a-f]{64})/.exec(run.stderr)![1]));
});

test('the monthly schedule stores last month’s report once; it is listed and fetched with the evidence it hashed', async () => {
  let listed: { id: string; period_from: string; generated_by: string; sha256: string; summary: { id: string }[] }[] = [];
  for (let attempt = 0; attempt < 100 && listed.length === 0; attempt++) {
    const run = meshlogCli(['report', 'list', '--output', 'json'], keys.auditor.key);
    assert.equal(run.status, 0, run.stderr);
    listed = JSON.parse(run.stdout) as typeof listed;
    if (listed.length === 0) await sleep(200);
  }
  assert.equal(listed.length, 1, 'one report for the month that ended');
  const now = new Date();
  const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  assert.equal(listed[0].period_from.slice(0, 10), lastMonth.toISOString().slice(0, 10));
  assert.equal(listed[0].generated_by, 'meshlog monthly schedule');
  assert.deepEqual(
    listed[0].summary.map((item) => item.id),
    sectionIds,
  );

  const json = meshlogCli(['report', 'get', listed[0].id, '--format', 'json'], keys.auditor.key);
  assert.equal(json.status, 0, json.stderr);
  assert.equal(createHash('sha256').update(json.stdout).digest('hex'), listed[0].sha256);
  assert.equal((JSON.parse(json.stdout) as Soc2Report).period.from, lastMonth.toISOString());
  const html = meshlogCli(['report', 'get', listed[0].id, '--format', 'html'], keys.auditor.key);
  assert.ok(html.stdout.includes(`<code id="evidence-sha256">${listed[0].sha256}</code>`));
  assert.match(meshlogCli(['report', 'list'], keys['acme auditor'].key).stderr, /403/);
  assert.match(meshlogCli(['report', 'get', 'no-such-report', '--format', 'json'], keys.auditor.key).stderr, /404/);
});

test('with an alert rule group in force (ruler API), the monitoring section lists it and passes', async () => {
  const group =
    'name: latency\nrules:\n  - alert: SlowRequests\n    expr: sum(count_over_time({service_name="checkout"} |= "slow" [1m])) > 100\n    for: 5m\n';
  const created = await fetch(`${meshlog.url}/loki/api/v1/rules/ops`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'acme', 'content-type': 'application/yaml' },
    body: group,
  });
  assert.equal(created.status, 202, await created.text());
  const run = report(['--format', 'json'], keys.auditor.key);
  assert.equal(run.status, 0, run.stderr);
  const monitoring = section(JSON.parse(run.stdout) as Soc2Report, 'monitoring');
  const groups = monitoring.data.rule_groups_in_force as {
    tenant: string;
    namespace: string;
    group: string;
    to: string;
    set_by: string;
    rules: { alert: string; for_ms?: number }[];
  }[];
  assert.deepEqual(
    groups.map((entry) => [entry.tenant, entry.namespace, entry.group, entry.to, entry.rules.map((rule) => [rule.alert, rule.for_ms])]),
    [['acme', 'ops', 'latency', JSON.parse(run.stdout).period.to, [['SlowRequests', 300_000]]]],
  );
  assert.equal(monitoring.status, 'pass', monitoring.reason);
  // Scoped to another tenant, the report holds none of acme's rules.
  const other = report(['--format', 'json', '--tenant', 'default'], keys.auditor.key);
  assert.equal(other.status, 0, other.stderr);
  const otherMonitoring = section(JSON.parse(other.stdout) as Soc2Report, 'monitoring');
  assert.deepEqual(otherMonitoring.data.rule_groups_in_force, []);
  assert.ok(!JSON.stringify(otherMonitoring).includes('SlowRequests'));
  // Nor anywhere else: acme's rule change is acme's business, not in another tenant's change section or its report at all.
  assert.ok(!other.stdout.includes('SlowRequests'), "another tenant's report names none of acme's alert rules");
  const acmeChanges = section(JSON.parse(run.stdout) as Soc2Report, 'changes').data.changes as { action: string }[];
  assert.ok(
    acmeChanges.some((change) => change.action === 'alert_rules.create'),
    'the all-tenant report lists the change',
  );
});
