import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest } from '../../support/otlpJson.js';

let meshlog: RunningMeshlog;
let jwksServer: Server;
let signingKey: CryptoKey;
let otherKey: CryptoKey;
const issuer = 'https://sso.example.test/realms/platform';

before(async () => {
  // A real JWKS endpoint on loopback, as an identity provider publishes it.
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwksServer = createServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const address = jwksServer.address() as { port: number };
  const dir = tempDataDir('meshlog-oidc-');
  const config = join(dir, 'meshlog.yaml');
  writeFileSync(
    config,
    [
      'oidc:',
      `  jwks_url: http://127.0.0.1:${address.port}/certs`,
      `  issuer: ${issuer}`,
      '  audience: meshlog',
      '  roles_claim: groups',
      '  role_map: { log-readers: analyst, log-shippers: ingester }',
      '  tenants_claim: meshlog_tenants',
      '  name_claim: email',
    ].join('\n'),
  );
  meshlog = await startMeshlog({ args: ['--config', config] });
});
after(async () => {
  await meshlog?.stop();
  jwksServer?.close();
});

async function token(
  claims: Record<string, unknown>,
  options: { key?: CryptoKey; issuer?: string; audience?: string; expires?: string } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject('u-42')
    .setIssuer(options.issuer ?? issuer)
    .setAudience(options.audience ?? 'meshlog')
    .setIssuedAt()
    .setExpirationTime(options.expires ?? '5m')
    .sign(options.key ?? signingKey);
}

const labels = (jwt: string, tenant: string) =>
  fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { authorization: `Bearer ${jwt}`, 'x-scope-orgid': tenant } });

test('SSO users: claims map to roles and tenants; signature, issuer, audience and expiry are enforced', async () => {
  const reader = await token({ email: 'ana@example.test', groups: ['log-readers', 'unrelated'], meshlog_tenants: ['acme'] });
  assert.equal((await labels(reader, 'acme')).status, 200);
  assert.equal((await labels(reader, 'beta')).status, 403, 'tenant outside the claim');
  const write = await fetch(`${meshlog.url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json', 'x-scope-orgid': 'acme' },
    body: otlpJsonRequest('sso', ['x']),
  });
  assert.equal(write.status, 403, 'an analyst cannot ingest');

  const noRole = await token({ email: 'eve@example.test', groups: ['marketing'], meshlog_tenants: ['acme'] });
  assert.equal((await labels(noRole, 'acme')).status, 403, 'a valid token without a mapped role gets nothing');

  for (const [why, bad] of [
    ['wrong issuer', await token({ groups: ['log-readers'], meshlog_tenants: ['acme'] }, { issuer: 'https://evil.example.test' })],
    ['wrong audience', await token({ groups: ['log-readers'], meshlog_tenants: ['acme'] }, { audience: 'grafana' })],
    ['expired', await token({ groups: ['log-readers'], meshlog_tenants: ['acme'] }, { expires: '-1m' })],
    ['signed by another key', await token({ groups: ['log-readers'], meshlog_tenants: ['acme'] }, { key: otherKey })],
  ] as const) {
    const response = await labels(bad, 'acme');
    assert.equal(response.status, 401, why);
  }

  const audit = (await (
    await fetch(`${meshlog.url}/api/v1/audit?since=1h&actor=ana@example.test`, { headers: { authorization: `Bearer ${meshlog.token}` } })
  ).json()) as { events: { action: string; actor_id: string }[] };
  assert.ok(
    audit.events.some((event) => event.action === 'auth.login' && event.actor_id === 'oidc:u-42'),
    'the SSO login is in the audit trail',
  );
});

test('an SSO user disabled in meshlog is refused with a valid token, and the refusal is an audited authentication failure', async () => {
  const admin = { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' };
  const created = await fetch(`${meshlog.url}/api/v1/admin/users`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: 'bo', email: 'Bo@Example.test', roles: ['analyst'], tenants: ['acme'] }),
  });
  assert.equal(created.status, 201);
  const bo = await token({ email: 'bo@example.test', groups: ['log-readers'], meshlog_tenants: ['acme'] });
  assert.equal((await labels(bo, 'acme')).status, 200, 'an active user signs in');

  assert.equal((await fetch(`${meshlog.url}/api/v1/admin/users/bo/disable`, { method: 'POST', headers: admin, body: '{}' })).status, 200);
  const refused = await labels(bo, 'acme');
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /user \\?"bo\\?" is disabled/);
  const audit = (await (await fetch(`${meshlog.url}/api/v1/audit?since=1h&action=auth.failure`, { headers: admin })).json()) as {
    events: { detail: string }[];
  };
  assert.equal(audit.events.filter((event) => /user \\"bo\\" is disabled/.test(event.detail)).length, 1);

  assert.equal((await fetch(`${meshlog.url}/api/v1/admin/users/bo/enable`, { method: 'POST', headers: admin, body: '{}' })).status, 200);
  assert.equal((await labels(bo, 'acme')).status, 200, 'enabled again, the same token works');
});

test("an identity provider cannot grant every tenant with * nor meshlog's own _audit tenant unless oidc.all_tenants says so", async () => {
  const wide = await token({ email: 'wendy@example.test', groups: ['log-readers'], meshlog_tenants: ['*', '_audit'] });
  assert.equal((await labels(wide, 'acme')).status, 403, 'a * claim grants nothing without oidc.all_tenants');
  assert.equal((await labels(wide, '_audit')).status, 403);
  const named = await token({ email: 'wendy@example.test', groups: ['log-readers'], meshlog_tenants: ['*', 'acme'] });
  assert.equal((await labels(named, 'acme')).status, 200, 'the named tenant still counts');
  assert.equal((await labels(named, 'beta')).status, 403);
});
