import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/loadConfig.js';
import { MeshlogError } from '../../src/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { AuditTrail } from '../../src/security/auditTrail.js';
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
    authenticate: async () => {
      throw new MeshlogError('ML_AUTH_INVALID', 'no credentials in this test');
    },
    // Nothing here is requested, so nothing is audited: registration alone is under test.
    audit: undefined as unknown as AuditTrail,
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
