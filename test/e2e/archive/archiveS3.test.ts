import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { ArchiveManifest } from '../../../src/archive/archiveManifest.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
// Asynchronous: the S3 server runs in this process, and must answer while the CLI waits.
const run = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, ...args], { encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ status: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const monthStart = new Date(new Date().toISOString().slice(0, 7) + '-01T00:00:00Z');
const from = new Date(Math.max(Date.now() - 3600_000, monthStart.getTime())).toISOString();
const accessKeyId = 'meshlog-archiver';
const secretAccessKey = 'never-in-any-log-3f9a1c77e2';

/**
 * s3rver, a real S3 server (it checks SigV4 signatures) with no Object Lock of
 * its own: the lock headers meshlog sends are captured at its front door.
 */
async function startS3(): Promise<{
  url: string;
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close: () => Promise<void>;
}> {
  const directory = tempDataDir('meshlog-s3-');
  const s3rver = new S3rver({ directory, silent: true, configureBuckets: [{ name: 'audit-archives', configs: [] }] });
  await s3rver.configureBuckets();
  // Its own test credentials, so the secret is one nothing else would print by chance.
  const { DUMMY_ACCOUNT } = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair: (id: string, secret: string) => void };
  };
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const requests: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const handle = s3rver.callback();
  const server = createServer((request, response) => {
    requests.push({ method: request.method!, url: request.url!, headers: request.headers });
    void handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('meshlog archive upload puts a signed archive in S3-compatible storage with compliance-mode Object Lock until the retention policy ends; it downloads and verifies offline', async () => {
  const s3 = await startS3();
  const dir = tempDataDir('meshlog-archive-s3-');
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    [
      'retention:',
      '  default_max_age: 30d',
      '  policies:',
      '    - { name: payments, tenant: acme, service: checkout, max_age: 400d }',
      '    - { name: other-tenant, tenant: other, max_age: 2000d }',
      'archive:',
      '  s3:',
      '    bucket: audit-archives',
      `    endpoint: ${s3.url}`,
      '    prefix: meshlog/',
      '    force_path_style: true',
      '',
    ].join('\n'),
  );
  const env = { MESHLOG_ARCHIVE_S3_ACCESS_KEY_ID: accessKeyId, MESHLOG_ARCHIVE_S3_SECRET_ACCESS_KEY: secretAccessKey };
  const meshlog = await startMeshlog({ args: ['--config', config], env });
  try {
    assert.equal(
      (
        await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('checkout', ['order 1 paid', 'order 2 paid']), {
          'x-scope-orgid': 'acme',
        })
      ).status,
      200,
    );
    assert.equal(
      (await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('catalog', ['catalog viewed']), { 'x-scope-orgid': 'acme' })).status,
      200,
    );

    const uploaded = await run([
      'archive',
      'upload',
      '--tenant',
      'acme',
      '--from',
      from,
      '--server',
      meshlog.url,
      '--token',
      meshlog.token,
    ]);
    assert.equal(uploaded.status, 0, uploaded.stdout + uploaded.stderr);
    const [, archiveId, prefix] =
      /^archive (ar-[0-9a-f]{16}): 3 records of acme uploaded to s3:\/\/audit-archives\/(meshlog\/acme\/ar-[0-9a-f]{16}\/) and read back intact$/m.exec(
        uploaded.stdout,
      ) ?? [];
    assert.ok(archiveId && prefix.includes(archiveId), uploaded.stdout);
    // s3rver has no Object Lock: the command says the store did not confirm it, rather than claiming it.
    assert.match(uploaded.stdout, /^object lock: COMPLIANCE until \S+ requested; the store did NOT report a lock back/m);

    // Every object was put with the lock, retained for acme's longest policy (400 days) past the archive's end, and an MD5.
    const puts = s3.requests.filter((request) => request.method === 'PUT');
    assert.deepEqual(
      puts.map((put) => decodeURIComponent(put.url.split('?')[0])).sort(),
      ['manifest.json', 'manifest.sig', 'records.ndjson.gz.enc'].map((file) => `/audit-archives/${prefix}${file}`).sort(),
    );
    const downloaded = join(dir, 'downloaded');
    mkdirSync(downloaded);
    const client = new S3Client({
      endpoint: s3.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    for (const file of ['manifest.json', 'manifest.sig', 'records.ndjson.gz.enc']) {
      const object = await client.send(new GetObjectCommand({ Bucket: 'audit-archives', Key: `${prefix}${file}` }));
      writeFileSync(join(downloaded, file), await object.Body!.transformToByteArray());
    }
    client.destroy();
    const manifest = JSON.parse(readFileSync(join(downloaded, 'manifest.json'), 'utf8')) as ArchiveManifest;
    const retainUntil = new Date(Date.parse(manifest.to) + 400 * 86_400_000).toISOString();
    for (const put of puts) {
      assert.equal(put.headers['x-amz-object-lock-mode'], 'COMPLIANCE');
      assert.equal(new Date(String(put.headers['x-amz-object-lock-retain-until-date'])).toISOString(), retainUntil);
      assert.match(String(put.headers['content-md5']), /^[A-Za-z0-9+/]{22}==$/);
      assert.match(String(put.headers.authorization), new RegExp(`^AWS4-HMAC-SHA256 Credential=${accessKeyId}/`));
    }

    const verified = await run([
      'archive',
      'verify',
      downloaded,
      '--data-dir',
      meshlog.dataDir,
      '--public-key',
      `${meshlog.dataDir}-signing.key.pub`,
    ]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, new RegExp(`^OK — archive ${archiveId} of acme, 1 chain\\(s\\), \\d+ batches, 3 records checked`, 'm'));

    const response = await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=archive.upload`, {
      headers: { authorization: `Bearer ${meshlog.token}` },
    });
    const { events } = (await response.json()) as { events: { outcome: string; target: string; detail: string }[] };
    assert.deepEqual(
      events.map((event) => [event.outcome, event.target]),
      [['success', archiveId]],
    );
    assert.equal((JSON.parse(events[0].detail) as { retain_until: string }).retain_until, retainUntil);
  } finally {
    await meshlog.stop();
    await s3.close();
  }
  // The credentials reach the store, never a log line.
  assert.ok(!meshlog.output().includes(secretAccessKey), 'the secret key is not in the server output');
});
