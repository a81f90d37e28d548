import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import canonicalize from 'canonicalize';
import { parse as parseCsv } from 'csv-parse/sync';
import { unzipSync, zipSync } from 'fflate';
import type { Soc2Report } from '../../../src/compliance/reportModel.js';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { assertFiguresShown, htmlVisibleText, reportFigures } from '../../support/reportFigures.js';
import { waitFor } from '../../support/waitFor.js';

/**
 * One generation, every format: the bundle an auditor downloads holds the
 * JSON evidence, its HTML, PDF and CSV renderings, their signatures and the
 * public key; each format carries the same evidence hash and sections, read
 * back by independent tools (unzip, pdftotext, csv-parse, openssl), and a
 * changed byte anywhere fails verification.
 */
const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const dir = tempDataDir('meshlog-bundle-');
let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};
let periodFrom: string;
let periodTo: string;
let bundleFile: string;
let unpacked: string;
let soc2: Soc2Report;

type Run = { status: number | null; stdout: string; stderr: string };

/**
 * A command run without blocking the event loop: a synchronous child would
 * freeze this process's keep-alive sockets to the server, and the next fetch
 * would pick one the server had closed meanwhile ("fetch failed").
 */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject).on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const meshlogCli = (args: string[], token?: string): Promise<Run> =>
  run(process.execPath, [cli, ...args], { ...process.env, ...(token ? { MESHLOG_TOKEN: token } : {}) });

async function createKey(name: string, role: string, tenant: string): Promise<void> {
  const created = await meshlogCli(
    ['keys', 'create', '--name', name, '--role', role, '--tenant', tenant, '--output', 'json', '--server', meshlog.url],
    meshlog.token,
  );
  assert.equal(created.status, 0, created.stderr);
  keys[name] = (JSON.parse(created.stdout) as { key: string }).key;
}

const reportVerify = (file: string) => meshlogCli(['report', 'verify', file, '--public-key', `${meshlog.dataDir}-signing.key.pub`]);

/** `openssl pkeyutl -verify -rawin`: Ed25519 over the whole message, with the key in PEM, as an auditor without meshlog checks it. */
async function opensslVerifies(message: Buffer, signatureBase64: string, pem: string): Promise<{ ok: boolean; output: string }> {
  const work = join(dir, `openssl-${createHash('sha256').update(message).digest('hex').slice(0, 12)}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'message'), message);
  writeFileSync(join(work, 'signature'), Buffer.from(signatureBase64, 'base64'));
  writeFileSync(join(work, 'key.pem'), pem);
  const checked = await run('openssl', [
    'pkeyutl',
    '-verify',
    '-pubin',
    '-inkey',
    join(work, 'key.pem'),
    '-rawin',
    '-in',
    join(work, 'message'),
    '-sigfile',
    join(work, 'signature'),
  ]);
  return { ok: checked.status === 0 && /Signature Verified Successfully/.test(checked.stdout), output: checked.stdout + checked.stderr };
}

async function ingest(tenant: string, service: string, body: string): Promise<void> {
  const response = await postOtlpJson(meshlog.url, keys[`${tenant} shipper`]!, otlpJsonRequest(service, [body]), {
    'x-scope-orgid': tenant,
  });
  assert.equal(response.status, 200, await response.text());
}

const read = (name: string): Buffer => readFileSync(join(unpacked, name));

before(async () => {
  periodFrom = new Date(Date.now() - 60_000).toISOString();
  meshlog = await startMeshlog({ dataDir: join(dir, 'data'), env: { MESHLOG_REPORTS_MONTHLY: 'true' } });
  await createKey('acme shipper', 'ingester', 'acme');
  await createKey('beta shipper', 'ingester', 'beta');
  await createKey('auditor', 'auditor', '*');
  await createKey('acme auditor', 'auditor', 'acme');
  await ingest('acme', 'checkout', 'order 1 paid');
  await ingest('beta', 'beta-secret-ledger', 'ledger closed');
  // The period is closed before any report is made, so every generation of it has the same stored evidence.
  for (const [tenant, body] of [
    ['acme', 'order 1 paid'],
    ['beta', 'ledger closed'],
  ]) {
    await waitFor(
      async () => {
        const response = await fetch(
          `${meshlog.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name=~".+"}')}&start=${encodeURIComponent(periodFrom)}`,
          { headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant! } },
        );
        return response.status === 200 && (await response.text()).includes(body!);
      },
      { timeoutMs: 120_000, what: `${tenant}’s record is stored` },
    );
  }
  periodTo = new Date().toISOString();

  bundleFile = join(dir, 'report.zip');
  const generated = await meshlogCli(
    ['report', 'soc2', '--from', periodFrom, '--to', periodTo, '--format', 'bundle', '--out', bundleFile, '--server', meshlog.url],
    keys.auditor,
  );
  assert.equal(generated.status, 0, generated.stderr);
  unpacked = join(dir, 'unpacked');
  const unzip = await run('unzip', ['-o', bundleFile, '-d', unpacked]);
  assert.equal(unzip.status, 0, unzip.stderr);
  soc2 = JSON.parse(read('soc2-report.json').toString('utf8')) as Soc2Report;
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('one generation renders every format: JSON, HTML, PDF and CSV carry the same evidence hash, period evidence and sections', async () => {
  assert.deepEqual(readdirSync(unpacked).sort(), [
    'manifest.json',
    'signing-key.pem',
    'signing-key.pub',
    'soc2-report.csv',
    'soc2-report.csv.sig',
    'soc2-report.html',
    'soc2-report.html.sig',
    'soc2-report.json',
    'soc2-report.pdf',
    'soc2-report.pdf.sig',
  ]);
  const evidenceSha256 = createHash('sha256').update(read('soc2-report.json')).digest('hex');
  const periodEvidence = soc2.period_evidence.sha256;
  const titles = soc2.sections.map((section) => section.title);
  assert.equal(soc2.sections.length, 14);
  assert.equal(soc2.tenant, null);

  const manifest = JSON.parse(read('manifest.json').toString('utf8')) as {
    evidence_sha256: string;
    period_evidence_sha256: string;
    sections: number;
    period: unknown;
  };
  assert.equal(manifest.evidence_sha256, evidenceSha256);
  assert.equal(manifest.period_evidence_sha256, periodEvidence);
  assert.equal(manifest.sections, 14);
  assert.deepEqual(manifest.period, soc2.period);

  const html = read('soc2-report.html').toString('utf8');
  assert.ok(html.includes(`<code id="evidence-sha256">${evidenceSha256}</code>`));
  assert.ok(html.includes(`<code id="period-evidence-sha256">${periodEvidence}</code>`));
  assert.equal(html.match(/<section id="[a-z_]+" data-status=/g)?.length, 14);
  const embedded = /<script type="application\/json" id="evidence">([\s\S]*?)<\/script>/.exec(html)![1]!;
  assert.deepEqual(JSON.parse(embedded), soc2, 'the HTML embeds this very generation');

  const pdfText = await run('pdftotext', ['-raw', join(unpacked, 'soc2-report.pdf'), '-']);
  assert.equal(pdfText.status, 0, pdfText.stderr);
  // pdftotext breaks a 64-digit hash where the page wrapped it: compare without whitespace.
  const flat = pdfText.stdout.replace(/\s+/g, '');
  assert.ok(flat.includes(evidenceSha256), 'the PDF shows the evidence hash');
  assert.ok(flat.includes(periodEvidence), 'the PDF shows the period evidence hash');
  for (const title of titles) assert.ok(flat.includes(title.replace(/\s+/g, '')), `the PDF has the section ${title}`);
  for (const status of ['pass', 'attention', 'fail'] as const) {
    const count = soc2.summary.filter((item) => item.status === status).length;
    assert.equal(
      html.match(new RegExp(`<section id="[a-z_]+" data-status="${status}"`, 'g'))?.length ?? 0,
      count,
      `${status} sections in the HTML`,
    );
  }

  const rows = parseCsv(read('soc2-report.csv'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(
    rows.map((row) => row.section),
    soc2.sections.map((section) => section.id),
  );
  assert.deepEqual(
    rows.map((row) => row.status),
    soc2.sections.map((section) => section.status),
  );
  assert.ok(
    rows.every(
      (row) =>
        row.evidence_sha256 === evidenceSha256 &&
        row.period_evidence_sha256 === periodEvidence &&
        row.period_from === soc2.period.from &&
        row.period_to === soc2.period.to,
    ),
  );
  const coverage = rows.find((row) => row.section === 'coverage')!;
  assert.match(coverage.figures!, /services\.count=2/);
});

test('every figure of every section is the same number in the JSON, the HTML, the PDF (pdftotext) and the CSV, beside its label', async () => {
  const figures = reportFigures(soc2);
  assert.ok(figures.length >= soc2.sections.length, `figures derived from the JSON: ${figures.length}`);
  assertFiguresShown(soc2, htmlVisibleText(read('soc2-report.html').toString('utf8')), 'HTML');
  const pdfText = await run('pdftotext', ['-raw', join(unpacked, 'soc2-report.pdf'), '-']);
  assert.equal(pdfText.status, 0, pdfText.stderr);
  assertFiguresShown(soc2, pdfText.stdout, 'PDF');
  // The CSV names the top-level figures and those one object down, each `path=value`.
  const rows = parseCsv(read('soc2-report.csv'), { columns: true }) as Record<string, string>[];
  for (const row of rows) {
    const csvFigures = new Map(
      row
        .figures!.split('; ')
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.lastIndexOf('=')), pair.slice(pair.lastIndexOf('=') + 1)]),
    );
    const expected = figures.filter((figure) => figure.section === row.section && figure.depth <= 2);
    assert.deepEqual(
      Object.fromEntries(csvFigures),
      Object.fromEntries(expected.map((figure) => [figure.path, String(figure.value)])),
      `CSV figures of ${row.section}`,
    );
  }
});

test('the figure comparison fails on one number changed in the rendering, naming its section and path', () => {
  const text = htmlVisibleText(read('soc2-report.html').toString('utf8')).replace(/\s+/g, ' ');
  const figure = reportFigures(soc2).find((candidate) => candidate.section === 'coverage' && candidate.path === 'services.count')!;
  assert.equal(figure.shown, 'services (2)');
  const altered = text.replace(figure.shown, 'services (3)');
  assert.notEqual(altered, text);
  assert.throws(() => assertFiguresShown(soc2, altered, 'HTML'), /HTML: coverage\.services\.count is shown as "services \(2\)"/);
});

test('regenerated separately in each format, the closed period carries the same period evidence as the bundle', async () => {
  const json = await meshlogCli(
    ['report', 'soc2', '--from', periodFrom, '--to', periodTo, '--format', 'json', '--server', meshlog.url],
    keys.auditor,
  );
  assert.equal(json.status, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as Soc2Report).period_evidence.sha256, soc2.period_evidence.sha256);
  const csvFile = join(dir, 'alone.csv');
  const csv = await meshlogCli(
    ['report', 'soc2', '--from', periodFrom, '--to', periodTo, '--format', 'csv', '--out', csvFile, '--server', meshlog.url],
    keys.auditor,
  );
  assert.equal(csv.status, 0, csv.stderr);
  const rows = parseCsv(readFileSync(csvFile), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 14);
  assert.ok(rows.every((row) => row.period_evidence_sha256 === soc2.period_evidence.sha256));
  const verified = await reportVerify(csvFile);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
});

test('meshlog report verify accepts the bundle: the signed manifest, every file’s hash, and each format’s own signature', async () => {
  const verified = await reportVerify(bundleFile);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  for (const label of [
    'manifest.json',
    'soc2-report.json: JSON report',
    'soc2-report.html: report file',
    'soc2-report.html: embedded JSON evidence',
    'soc2-report.pdf: report file',
    'soc2-report.csv: report file',
  ]) {
    assert.match(verified.stdout, new RegExp(`^OK .*: ${label.replaceAll('.', '\\.')}`, 'm'), label);
  }
  assert.doesNotMatch(verified.stdout, /FAILED/);
});

test('openssl verifies the Ed25519 signatures of the PDF, HTML, CSV and canonical JSON with the PEM key, which is the server’s own', async () => {
  const pem = read('signing-key.pem').toString('utf8');
  // The PEM in the bundle is the public half of the server's signing key, derived by openssl itself.
  const derived = await run('openssl', ['pkey', '-in', `${meshlog.dataDir}-signing.key`, '-pubout']);
  assert.equal(derived.status, 0, derived.stderr);
  assert.equal(derived.stdout, pem);
  for (const format of ['pdf', 'html', 'csv']) {
    const signature = JSON.parse(read(`soc2-report.${format}.sig`).toString('utf8')) as { value: string };
    const good = await opensslVerifies(read(`soc2-report.${format}`), signature.value, pem);
    assert.ok(good.ok, `${format}: ${good.output}`);
    const changed = Buffer.from(read(`soc2-report.${format}`));
    changed[Math.floor(changed.length / 2)] ^= 0x01;
    assert.equal((await opensslVerifies(changed, signature.value, pem)).ok, false, `${format}: a changed byte fails openssl`);
  }
  const { signature, ...unsigned } = soc2;
  const canonical = Buffer.from(canonicalize(unsigned)!, 'utf8');
  const json = await opensslVerifies(canonical, signature!.value, pem);
  assert.ok(json.ok, json.output);
});

test('a changed byte in any file of the bundle, or a file dropped or added, fails verification', async () => {
  const files = unzipSync(readFileSync(bundleFile));
  const tampered = (name: string, change: (files: Record<string, Uint8Array>) => void): Promise<Run> => {
    const copy = Object.fromEntries(Object.entries(files).map(([file, bytes]) => [file, Uint8Array.from(bytes)]));
    change(copy);
    const path = join(dir, `tampered-${name.replace(/[^a-z.]/g, '_')}.zip`);
    writeFileSync(path, zipSync(copy));
    return reportVerify(path);
  };
  for (const name of Object.keys(files)) {
    const verified = await tampered(name, (copy) => {
      const bytes = copy[name]!;
      bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    });
    assert.equal(verified.status, 1, `${name} changed: ${verified.stdout}`);
    assert.match(verified.stdout, /^FAILED /m, name);
  }
  const dropped = await tampered('dropped', (copy) => delete copy['soc2-report.csv.sig']);
  assert.equal(dropped.status, 1);
  assert.match(dropped.stdout, /FAILED .*soc2-report\.csv\.sig: listed in the signed manifest but missing from the bundle/);
  const added = await tampered('added', (copy) => (copy['soc2-report-fixed.pdf'] = Buffer.from('%PDF-1.4 a nicer report')));
  assert.equal(added.status, 1);
  assert.match(added.stdout, /FAILED .*soc2-report-fixed\.pdf: in the bundle but not in its signed manifest/);
});

test('an auditor of tenant acme cannot generate or download tenant beta’s report, in any format, and acme’s bundle holds nothing of beta', async () => {
  assert.equal(meshlog.process.exitCode, null, `the server is still running: ${meshlog.output().slice(-4000)}`);
  const get = (path: string) => fetch(`${meshlog.url}${path}`, { headers: { authorization: `Bearer ${keys['acme auditor']}` } });
  for (const format of ['bundle', 'csv', 'json']) {
    const response = await get(
      `/api/v1/reports/soc2?from=${encodeURIComponent(periodFrom)}&to=${encodeURIComponent(periodTo)}&tenant=beta&format=${format}`,
    );
    assert.equal(response.status, 403, `${format}: ${await response.text()}`);
  }
  // The stored (monthly) reports cover every tenant: not for a one-tenant auditor, in any format.
  const listed = await fetch(`${meshlog.url}/api/v1/reports`, { headers: { authorization: `Bearer ${keys.auditor}` } });
  const stored = ((await listed.json()) as { reports: { id: string }[] }).reports;
  assert.ok(stored.length >= 1, 'the monthly schedule stored last month’s report');
  const storedBundle = await get(`/api/v1/reports/${stored[0]!.id}?format=bundle`);
  assert.equal(storedBundle.status, 403, await storedBundle.text());

  const own = await get(`/api/v1/reports/soc2?from=${encodeURIComponent(periodFrom)}&to=${encodeURIComponent(periodTo)}&format=bundle`);
  assert.equal(own.status, 200);
  assert.equal(own.headers.get('content-type'), 'application/zip');
  const files = unzipSync(new Uint8Array(await own.arrayBuffer()));
  const acme = JSON.parse(Buffer.from(files['soc2-report.json']!).toString('utf8')) as Soc2Report;
  assert.equal(acme.tenant, 'acme');
  for (const name of ['soc2-report.json', 'soc2-report.html', 'soc2-report.csv']) {
    const text = Buffer.from(files[name]!).toString('utf8');
    if (name.endsWith('.csv'))
      assert.ok(
        (parseCsv(text, { columns: true }) as { tenant: string }[]).every((row) => row.tenant === 'acme'),
        `${name} is acme's`,
      );
    else assert.ok(text.includes('checkout'), `${name} covers acme`);
    assert.ok(!text.includes('beta-secret-ledger'), `${name} holds nothing of beta`);
  }
});
