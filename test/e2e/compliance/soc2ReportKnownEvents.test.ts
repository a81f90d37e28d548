import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ReportSection, Soc2Report } from '../../../src/compliance/reportModel.js';
import { writeCheckoutAlertingConfig } from '../../support/checkoutAlerting.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest } from '../../support/otlpJson.js';
import { runStatements } from '../../support/storageReader.js';
import { TestCertificateAuthority } from '../../support/testCertificateAuthority.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * Two periods built the same way through a real server with TLS on its only
 * listener, encryption at rest, an alert rule with a webhook and a retention
 * policy: keys created and one revoked, hourly logs, a record disposed of
 * under its policy. The "wrong" period also has an hour without logs, a
 * firing alert and a record altered in storage. Its report must show each
 * event with the right status; the other must pass in every section.
 */
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const hourMs = 3_600_000;
const dayNs = 86_400_000_000_000n;
const ca = new TestCertificateAuthority();
const serverCertificate = ca.issue('localhost', 'server');

interface Period {
  meshlog: RunningMeshlog;
  webhook: Server;
  notifications: { status: string; alerts: { labels: Record<string, string> }[] }[];
  keys: Record<string, { id: string; key: string }>;
  from: string;
  gapHour: string;
  report: Soc2Report;
  dir: string;
}

/** HTTPS to the test server, trusting the test CA (global fetch cannot be given a CA). */
function call(
  meshlog: RunningMeshlog,
  method: string,
  path: string,
  token: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      `${meshlog.url}${path}`,
      {
        method,
        ca: ca.cert,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function ok(answer: Promise<{ status: number; text: string }>): Promise<any> {
  const { status, text } = await answer;
  assert.ok(status >= 200 && status < 300, `${status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

function meshlogCli(meshlog: RunningMeshlog, args: string[], token: string): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cli, ...args, '--server', meshlog.url], {
    encoding: 'utf8',
    env: { ...process.env, MESHLOG_TOKEN: token, NODE_EXTRA_CA_CERTS: ca.certFile },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function reportVerify(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cli, 'report', 'verify', ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const until = <T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> =>
  waitFor(probe, { what, intervalMs: 100 });

async function buildPeriod(wrong: boolean): Promise<Period> {
  const dir = tempDataDir('meshlog-known-events-');
  const notifications: Period['notifications'] = [];
  const webhook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      notifications.push(JSON.parse(body));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  copyFileSync(serverCertificate.certFile, join(dir, 'server.pem'));
  copyFileSync(serverCertificate.keyFile, join(dir, 'server.key'));
  const config = writeCheckoutAlertingConfig(dir, {
    rules: `      - alert: CheckoutErrors
        expr: sum(count_over_time({service_name="checkout"} |= "error" [2m])) > 0
        labels:
          severity: page
`,
    webhook: { url: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`, secret: 'known-events-webhook-secret' },
    alerting: '  anomaly: { enabled: false }',
    sections: `tls: { cert_file: ${JSON.stringify(join(dir, 'server.pem'))}, key_file: ${JSON.stringify(join(dir, 'server.key'))} }
forward: { enabled: false }
syslog: { enabled: false }
otlp_grpc: { enabled: false }
retention:
  policies:
    - { name: batch-short, tenant: acme, service: nightly-batch, max_age: 1d }
`,
  });
  const args = ['--config', config];
  const first = await startMeshlog({ dataDir: join(dir, 'data'), args });
  assert.match(first.url, /^https:/);

  // The bootstrap token only creates the named admin; the admin does the rest.
  const keys: Period['keys'] = {};
  const createKey = async (as: string, name: string, roles: string[], tenants: string[]) => {
    keys[name] = await ok(call(first, 'POST', '/api/v1/admin/keys', as, JSON.stringify({ name, roles, tenants })));
  };
  await createKey(first.token, 'ops admin', ['admin'], ['*']);
  const admin = keys['ops admin'].key;
  await createKey(admin, 'shipper', ['ingester'], ['acme']);
  await createKey(admin, 'auditor', ['auditor'], ['*']);
  await createKey(admin, 'contractor', ['analyst'], ['acme']);
  await ok(call(first, 'DELETE', `/api/v1/admin/keys/${keys.contractor.id}`, admin));

  // checkout logs every hour from three hours ago to now; the wrong period misses one hour.
  const currentHour = Math.floor(Date.now() / hourMs) * hourMs;
  const base = currentHour - 3 * hourMs;
  const gapHour = base + hourMs;
  const ingest = (service: string, atNs: bigint, bodies: string[]) =>
    ok(
      call(first, 'POST', '/v1/logs', keys.shipper.key, otlpJsonRequest(service, bodies, { timeUnixNano: atNs.toString() }), {
        'x-scope-orgid': 'acme',
      }),
    );
  for (let hour = base; hour <= currentHour; hour += hourMs) {
    if (wrong && hour === gapHour) continue;
    await ingest('checkout', BigInt(Math.min(hour + 60_000, Date.now())) * 1_000_000n, [
      `GET /cart 200 served in hour ${new Date(hour).toISOString()}`,
    ]);
  }
  // Two days old: past the 1d policy of nightly-batch, disposed of below.
  await ingest('nightly-batch', BigInt(Date.now()) * 1_000_000n - 2n * dayNs, ['export finished', 'export uploaded']);
  const disposed = (await ok(call(first, 'POST', '/api/v1/admin/retention/run', admin))).disposed;
  assert.deepEqual(disposed.byPolicy, { 'batch-short': 2 });

  await ok(call(first, 'GET', '/loki/api/v1/labels', admin, undefined, { 'x-scope-orgid': 'acme' }));
  if (wrong) {
    await ingest('checkout', BigInt(Date.now()) * 1_000_000n, ['POST /pay 500 error: card processor unreachable']);
    await until('the firing notification', () =>
      notifications.some((notification) => notification.status === 'firing') ? true : undefined,
    );
    // On call takes the alert on, once: the report shows who and how fast.
    const acme = { 'x-scope-orgid': 'acme' };
    const paged = await until('the firing alert stored', async () =>
      (await ok(call(first, 'GET', '/api/v1/alerts', admin, undefined, acme))).alerts.find(
        (alert: { state: string; alertname: string }) => alert.state === 'firing' && alert.alertname === 'CheckoutErrors',
      ),
    );
    assert.equal(paged.acknowledged, null, 'not yet acknowledged');
    const taken = await ok(
      call(
        first,
        'POST',
        '/api/v1/alerts/acknowledge',
        admin,
        JSON.stringify({ fingerprint: paged.fingerprint, comment: 'card processor paged' }),
        acme,
      ),
    );
    assert.equal(taken.by, 'ops admin');
    const again = await call(first, 'POST', '/api/v1/alerts/acknowledge', admin, JSON.stringify({ fingerprint: paged.fingerprint }), acme);
    assert.equal(again.status, 409, again.text);
    const listed = (await ok(call(first, 'GET', '/api/v1/alerts', admin, undefined, acme))).alerts.find(
      (alert: { fingerprint: string }) => alert.fingerprint === paged.fingerprint,
    );
    assert.equal(listed.acknowledged.comment, 'card processor paged');
  }
  if (!wrong) {
    // The period's access review of acme, signed off: the ops admin decides the others' grants, a second admin (made after the population froze) decides the ops admin's.
    const review = (await ok(call(first, 'POST', '/api/v1/access-reviews', admin, JSON.stringify({ tenant: 'acme' })))).review;
    await createKey(admin, 'security lead', ['admin'], ['*']);
    const decide = (as: string, item: string) =>
      ok(
        call(
          first,
          'POST',
          `/api/v1/access-reviews/${review.review}/items/${encodeURIComponent(item)}/decision`,
          as,
          JSON.stringify({ decision: 'keep' }),
        ),
      );
    for (const name of ['shipper', 'auditor']) await decide(admin, `key:${keys[name].id}`);
    await decide(keys['security lead'].key, `key:${keys['ops admin'].id}`);
    await ok(
      call(first, 'POST', `/api/v1/access-reviews/${review.review}/sign-off`, admin, JSON.stringify({ comment: 'grants confirmed' })),
    );
  }
  // A1.2: each period takes its backup (a period without one is a finding).
  await ok(call(first, 'POST', '/api/v1/admin/backups', admin, JSON.stringify({ name: 'nightly' })));
  assert.equal(await first.stop(), 0, first.output());

  if (wrong) {
    await runStatements(first.dataDir, [
      `ALTER TABLE meshlog.logs UPDATE body = 'GET /cart 200 (nothing to see)' WHERE tenant = 'acme' AND service_name = 'checkout' AND batch_pos = 0 AND batch_seq = 1`,
    ]);
  }
  const meshlog = await startMeshlog({ dataDir: first.dataDir, args });
  const from = new Date(base).toISOString();
  const run = meshlogCli(meshlog, ['report', 'soc2', '--from', from, '--format', 'json'], keys.auditor.key);
  assert.equal(run.status, 0, run.stderr);
  return {
    meshlog,
    webhook,
    notifications,
    keys,
    from,
    gapHour: new Date(gapHour).toISOString(),
    report: JSON.parse(run.stdout) as Soc2Report,
    dir,
  };
}

let wrongPeriod: Period;
let cleanPeriod: Period;

before(async () => {
  // Side by side: each restarts its server and runs the CLI; one after the other, a loaded machine took them past the file's 5-minute timeout.
  [wrongPeriod, cleanPeriod] = await Promise.all([buildPeriod(true), buildPeriod(false)]);
});
after(async () => {
  for (const period of [wrongPeriod, cleanPeriod]) {
    if (period?.meshlog.process.exitCode === null) await period.meshlog.stop();
    period?.webhook.close();
  }
});

const section = (report: Soc2Report, id: string): ReportSection => {
  const found = report.sections.find((candidate) => candidate.id === id);
  assert.ok(found, id);
  return found;
};

test('the period with known events shows each of them with the right status', () => {
  const report = wrongPeriod.report;
  const keys = wrongPeriod.keys;

  const access = section(report, 'access');
  assert.deepEqual(
    (access.data.grants as { name: string }[]).map((grant) => grant.name),
    ['ops admin', 'shipper', 'auditor', 'contractor'],
  );
  assert.deepEqual(
    (access.data.revocations as { key_id: string; by: string }[]).map((revocation) => [revocation.key_id, revocation.by]),
    [[keys.contractor.id, 'ops admin']],
  );
  const states = new Map(
    (access.data.keys_as_of_period_end as { id: string; state_at_period_end: string }[]).map((key) => [key.id, key.state_at_period_end]),
  );
  assert.equal(states.get(keys.contractor.id), 'revoked');
  assert.equal(states.get(keys.shipper.id), 'active');
  assert.equal(access.status, 'pass', access.reason);

  const coverage = section(report, 'coverage');
  assert.equal(coverage.status, 'attention');
  assert.deepEqual(coverage.data.gaps, [{ tenant: 'acme', service: 'checkout', hours: [wrongPeriod.gapHour] }]);
  assert.match(coverage.reason, /1 of 1 services had 1 hour without logs/);

  const integrity = section(report, 'integrity');
  assert.equal(integrity.status, 'fail');
  assert.match(integrity.reason, /record_modified/);
  const findings = (integrity.data.verification as { findings: { kind: string; batchSeq: number; positions: number[] }[] }).findings;
  assert.deepEqual(
    findings.map((finding) => [finding.kind, finding.batchSeq, finding.positions]),
    [['record_modified', 1, [0]]],
  );

  const retention = section(report, 'retention');
  assert.equal(retention.status, 'pass', retention.reason);
  assert.deepEqual(retention.data.disposed_by_policy, { 'batch-short': 2 });
  const runs = retention.data.disposal_runs as { by: string; records: number; by_policy: Record<string, number> }[];
  assert.deepEqual(
    runs.map((run) => [run.by, run.records, run.by_policy]),
    [['ops admin', 2, { 'batch-short': 2 }]],
  );
  assert.equal((retention.data.disposed_batches as { tenant: string; policy: string; records: number }[]).length, 1);
  assert.deepEqual(retention.data.kept_past_policy, []);
  // One configuration was in force all period (recorded at the server's start): its policies.
  const inForce = retention.data.policies_in_force as { config_sha256: string; policies: { policy: string }[] }[];
  assert.equal(inForce.length, 1);
  assert.match(inForce[0]!.config_sha256, /^[0-9a-f]{64}$/);
  assert.ok(inForce[0]!.policies.some((policy) => policy.policy === 'batch-short'));

  const monitoring = section(report, 'monitoring');
  assert.equal(monitoring.status, 'pass', monitoring.reason);
  // The rules file's content as it was read at start, so an auditor sees the rule itself, not only a path.
  const rulesFile = join(wrongPeriod.dir, 'checkout.rules.yaml');
  const [recordedFile] = monitoring.data.rules_files_content as { path: string; sha256: string; content: string }[];
  assert.equal(recordedFile.path, rulesFile);
  assert.equal(recordedFile.content, readFileSync(rulesFile, 'utf8'));
  assert.equal(recordedFile.sha256, createHash('sha256').update(readFileSync(rulesFile)).digest('hex'));
  assert.match(recordedFile.content, /alert: CheckoutErrors/);
  // A restart re-evaluates the rule while the error is still in its window: it may fire again.
  const firing = (monitoring.data.alert_transitions as { name: string; status: string; count: number }[]).filter(
    (row) => row.status === 'firing',
  );
  assert.deepEqual(
    firing.map((row) => row.name),
    ['CheckoutErrors'],
  );
  assert.ok(firing[0].count >= 1);
  assert.match(monitoring.reason, new RegExp(`${firing[0].count} alerts fired in the period`));
  assert.ok(
    (monitoring.data.notification_attempts as { name: string; status: string }[]).some(
      (row) => row.name === 'CheckoutErrors' && row.status === 'delivered',
    ),
  );
  const fired = monitoring.data.alerts_fired as { name: string; acknowledged_by: string | null; seconds_to_acknowledge: number | null }[];
  assert.deepEqual(
    fired.map((row) => [row.name, row.acknowledged_by]),
    [['CheckoutErrors', 'ops admin']],
  );
  assert.ok(fired[0].seconds_to_acknowledge! >= 0);
  assert.equal(monitoring.data.mean_seconds_to_acknowledge, fired[0].seconds_to_acknowledge);
  assert.match(monitoring.reason, /all acknowledged, mean time to acknowledge [\d.]+ s$/);

  // Everything else is as in the clean period.
  for (const id of ['data_access', 'changes', 'transmission', 'redaction', 'availability', 'capacity'])
    assert.equal(section(report, id).status, 'pass', `${id}: ${section(report, id).reason}`);
});

test('the same period with nothing wrong passes in every section', () => {
  const report = cleanPeriod.report;
  assert.deepEqual(
    report.sections.filter((item) => item.status !== 'pass').map((item) => `${item.id}: ${item.status}: ${item.reason}`),
    [],
  );
  assert.deepEqual(section(report, 'coverage').data.gaps, []);
  assert.deepEqual(section(report, 'retention').data.disposed_by_policy, { 'batch-short': 2 });
  assert.equal((section(report, 'access').data.revocations as unknown[]).length, 1);
  const [review] = section(report, 'access_review').data.reviews as {
    tenant: string;
    population: { size: number };
    kept: number;
    sign_off: { signature_check: { valid: boolean } };
  }[];
  assert.deepEqual([review!.tenant, review!.population.size, review!.kept, review!.sign_off.signature_check.valid], ['acme', 3, 3, true]);
});

test('every section names the criteria it evidences and the queries behind its figures; the report names who made it, when, and its signing key', () => {
  const report = cleanPeriod.report;
  assert.equal(report.generated_by.name, 'auditor');
  assert.ok(Math.abs(Date.parse(report.generated_at) - Date.now()) < 600_000);
  const publishedKey = readFileSync(`${cleanPeriod.meshlog.dataDir}-signing.key.pub`, 'utf8').trim();
  assert.equal(report.provenance.signing_key, publishedKey);
  assert.equal(report.signature?.key, publishedKey);
  for (const item of report.sections) {
    assert.ok(item.criteria.length > 0, item.id);
    assert.ok(item.provenance && item.provenance.queries.length + item.provenance.inputs.length > 0, item.id);
  }
  const coverageQueries = section(report, 'coverage').provenance!.queries;
  assert.ok(
    coverageQueries.some((query) => /FROM meshlog\.logs AS l WHERE/.test(query.sql) && query.params.tenant === ''),
    JSON.stringify(coverageQueries),
  );
  assert.ok(section(report, 'capacity').provenance!.queries.some((query) => /FROM system\.parts/.test(query.sql)));
  assert.ok(section(report, 'retention').provenance!.queries.some((query) => /seal_events/.test(query.sql)));
  const atRest = section(report, 'transmission').data.encryption_at_rest as { configured: string; data_disks: { encrypted: boolean }[] };
  assert.equal(atRest.configured, 'enabled');
  assert.ok(atRest.data_disks.length > 0 && atRest.data_disks.every((disk) => disk.encrypted), JSON.stringify(atRest));
  assert.deepEqual(section(report, 'capacity').data.limits, {
    max_queued_records: 500_000,
    batch_max_records: 100_000,
    max_body_bytes: 16 * 1024 * 1024,
    max_decompressed_bytes: 64 * 1024 * 1024,
    longest_retention_days: 30,
  });
});

test('a JSON report verifies offline against the published key; a modified one, or one checked against another key, is rejected', () => {
  const period = wrongPeriod;
  const file = join(period.dir, 'report.json');
  const run = meshlogCli(
    period.meshlog,
    ['report', 'soc2', '--from', period.from, '--format', 'json', '--out', file],
    period.keys.auditor.key,
  );
  assert.equal(run.status, 0, run.stderr);
  const publicKey = `${period.meshlog.dataDir}-signing.key.pub`;

  const good = reportVerify([file, '--public-key', publicKey]);
  assert.equal(good.status, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /^OK .*report\.json: JSON report: signature verifies with the trusted key meshlog-w-/m);

  // Turning the failed integrity section into a pass is exactly what the signature is for.
  const text = readFileSync(file, 'utf8');
  const forged = join(period.dir, 'forged.json');
  writeFileSync(forged, text.replace('"status": "fail"', '"status": "pass"'));
  assert.notEqual(readFileSync(forged, 'utf8'), text);
  const bad = reportVerify([forged, '--public-key', publicKey]);
  assert.equal(bad.status, 1);
  assert.match(
    bad.stdout,
    /^FAILED .*forged\.json: JSON report: the signature does not match the content: the report was modified after it was signed$/m,
  );

  // Re-indenting is not a modification: the signature covers the canonical form.
  const reformatted = join(period.dir, 'reformatted.json');
  writeFileSync(reformatted, JSON.stringify(JSON.parse(text)));
  assert.equal(reportVerify([reformatted, '--public-key', publicKey]).status, 0);

  const otherKey = reportVerify([file, '--public-key', `${cleanPeriod.meshlog.dataDir}-signing.key.pub`]);
  assert.equal(otherKey.status, 1);
  assert.match(otherKey.stdout, /FAILED .*not by the trusted key/);

  const unpinned = reportVerify([file]);
  assert.equal(unpinned.status, 0);
  assert.match(unpinned.stderr, /no --public-key given/);
});

test('HTML and PDF reports are signed in a .sig beside them; verify accepts them and rejects a modified copy', () => {
  const period = wrongPeriod;
  const publicKey = `${period.meshlog.dataDir}-signing.key.pub`;
  for (const format of ['html', 'pdf']) {
    const file = join(period.dir, `report.${format}`);
    const run = meshlogCli(
      period.meshlog,
      ['report', 'soc2', '--from', period.from, '--format', format, '--out', file],
      period.keys.auditor.key,
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`wrote ${file.replaceAll('.', '\\.')}\\.sig`));

    const good = reportVerify([file, '--public-key', publicKey]);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, new RegExp(`OK .*report\\.${format}: report file`));
    if (format === 'html') {
      assert.match(good.stdout, /OK .*embedded JSON evidence: signature verifies/);
      // The coverage chart draws the gap hour as a gap cell; the volume and ingest charts are there.
      const html = readFileSync(file, 'utf8');
      const gapCell = `<span class="cell gap" title="${period.gapHour.slice(0, 13).replace('T', ' ')}:00 UTC: 1 silent hour"></span>`;
      assert.ok(html.includes(gapCell), gapCell);
      assert.equal(html.match(/<span class="cell gap"/g)?.length, 2, 'the gap cell and its legend');
      for (const caption of ['Records per day', 'Coverage per service', 'Records ingested per day, and the forecast rate'])
        assert.ok(html.includes(`<figcaption>${caption}</figcaption>`), caption);
    } else {
      const text = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
      assert.equal(text.status, 0, text.stderr);
      for (const words of [
        'Coverage per service',
        'Records per day',
        'Retention and disposal',
        'Capacity: ingest and storage',
        'Where these figures come from',
      ])
        assert.ok(text.stdout.includes(words), words);
    }

    const bytes = readFileSync(file);
    const modified = join(period.dir, `modified.${format}`);
    copyFileSync(`${file}.sig`, `${modified}.sig`);
    const edited = Buffer.from(bytes);
    if (format === 'html') writeFileSync(modified, bytes.toString('utf8').replace('>fail<', '>pass<'));
    else {
      edited[Math.floor(edited.length / 2)] ^= 0x01;
      writeFileSync(modified, edited);
    }
    const bad = reportVerify([modified, '--public-key', publicKey]);
    assert.equal(bad.status, 1, bad.stdout);
    assert.match(
      bad.stdout,
      /FAILED .*report file .*the file’s SHA-256 differs from the one signed: the report was modified after it was signed/,
    );

    const missing = reportVerify([modified, '--signature', join(period.dir, 'no-such.sig')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /no detached signature/);
  }
});
