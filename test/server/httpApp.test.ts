import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/loadConfig.js';
import { MeshlogError } from '../../src/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { AuditTrail, type AuditRecordWriter } from '../../src/security/auditTrail.js';
import type { Identity } from '../../src/security/identity.js';
import type { LogRecord } from '../../src/model/logRecord.js';
import { buildHttpApp } from '../../src/server/httpApp.js';

/**
 * Deny by default: a route's permission and tenancy are declared at its
 * registration, and a route registered without them is refused before the
 * server takes a request (an attacker gets no route that forgot its check).
 */
function httpApp(): FastifyInstance {
  return buildHttpApp({
    config: loadConfig({ env: {} }),
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    access: {
      authenticate: async () => {
        throw new MeshlogError('ML_AUTH_INVALID', 'no credentials in this test');
      },
      // Nothing here is requested, so nothing is audited: registration alone is under test.
      audit: undefined as unknown as AuditTrail,
    },
    isReady: () => true,
  });
}

/** An analyst of tenants acme and beta, whatever token it presents; the audit records it causes are kept in `audited`. */
function appForAnalystOfTwoTenants(audited: LogRecord[]): FastifyInstance {
  const analyst: Identity = {
    id: 'key-analyst',
    name: 'analyst of acme and beta',
    kind: 'api_key',
    roles: ['analyst'],
    tenants: ['acme', 'beta'],
  };
  const keepAudited: AuditRecordWriter = { write: async (records) => void audited.push(...records) };
  return buildHttpApp({
    config: loadConfig({ env: {} }),
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    access: { authenticate: async () => analyst, audit: new AuditTrail(keepAudited, pino({ level: 'silent' })) },
    isReady: () => true,
  });
}

test('a route registered without a permission is refused: the server does not start', async () => {
  const app = httpApp();
  assert.throws(() => app.get('/api/v1/forgotten', async () => 'open to anyone'), /GET \/api\/v1\/forgotten declares no permission/);
  await app.close();
});

test('a route with a permission but no tenancy is refused', async () => {
  const app = httpApp();
  assert.throws(
    () => app.post('/api/v1/half-declared', { config: { permission: 'query' } }, async () => 'any tenant'),
    /POST \/api\/v1\/half-declared declares no tenancy/,
  );
  await app.close();
});

test("a subsystem plugin's undeclared route stops the app from starting", async () => {
  const app = httpApp();
  await assert.rejects(async () => {
    await app.register(async (plugin) => {
      plugin.get('/api/v1/declared', { config: { permission: 'audit', tenancy: 'named' } }, async () => 'checked');
      plugin.delete('/api/v1/undeclared', async () => 'deleted for anyone');
    });
    await app.ready();
  }, /DELETE \/api\/v1\/undeclared declares no permission/);
  await app.close();
});

test('a route that does not declare multiTenant refuses X-Scope-OrgID a|b, though the credential holds both tenants', async () => {
  const audited: LogRecord[] = [];
  const app = appForAnalystOfTwoTenants(audited);
  const tenantsRead = async (request: FastifyRequest) => request.tenants;
  // The same handler twice: only the declaration differs, so only the declaration decides.
  app.get('/api/v1/one-tenant', { config: { permission: 'query', tenancy: 'request' } }, tenantsRead);
  app.get('/api/v1/several-tenants', { config: { permission: 'query', tenancy: 'request', multiTenant: true } }, tenantsRead);
  const ask = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: 'Bearer any', 'x-scope-orgid': 'acme|beta' } });

  const refused = await ask('/api/v1/one-tenant');
  assert.equal(refused.statusCode, 400, refused.body);
  assert.match(refused.body, /acts on one tenant/);
  const denial = audited.find((record) => record.attributes['audit.action'] === 'access.denied');
  assert.ok(denial, 'the refusal is audited');
  assert.equal(denial.attributes['audit.target'], 'GET /api/v1/one-tenant');

  const allowed = await ask('/api/v1/several-tenants');
  assert.equal(allowed.statusCode, 200, allowed.body);
  assert.deepEqual(allowed.json(), ['acme', 'beta']);

  await app.close();
});

test("multiTenant beside a tenancy other than the request's refuses to register: the server does not start", async () => {
  const app = httpApp();
  for (const tenancy of ['none', 'named', 'all'] as const)
    assert.throws(
      () => app.get(`/api/v1/${tenancy}-several`, { config: { permission: 'query', tenancy, multiTenant: true } }, async () => 'read'),
      new RegExp(`GET /api/v1/${tenancy}-several declares multiTenant beside tenancy ${tenancy}`),
    );
  assert.throws(
    () => app.get('/api/v1/public-several', { config: { permission: 'public', multiTenant: true } }, async () => 'read'),
    /declares multiTenant/,
  );
  await app.close();
});
