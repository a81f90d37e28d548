import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MeshlogError } from '../errors.js';
import type { PolicyEnforcer } from './policyEnforcer.js';
import { maxPolicyBytes } from './policyFile.js';
import { parseLokiTime } from '../query/lokiParams.js';
import type { PolicyStore, StoredPolicy } from '../storage/stores/policyStore.js';
import { parseJsonBody } from '../formats/jsonBody.js';

export interface PolicyRouteDeps {
  enforcer: PolicyEnforcer;
  store: PolicyStore;
}

const applyBody = z.object({ policy: z.string().min(1).max(maxPolicyBytes) }).strict();

const isoOfStored = (value: string) => new Date(/[TZ]/.test(value) ? value : `${value.replace(' ', 'T')}Z`).toISOString();

function policyJson(policy: StoredPolicy): object {
  return {
    ...policy,
    applied_at: isoOfStored(policy.applied_at),
    signature: JSON.parse(policy.signature) as unknown,
    diff: policy.diff === '' ? [] : policy.diff.split('\n'),
  };
}

/**
 * A tenant's logging policy (docs/policy.md): apply (admins of the tenant the
 * file names, audited as policy.apply with the diff), the policy in force now
 * or at a past time, its history, and its drift (admins and auditors of the
 * request's tenant).
 */
export function policyRoutes(app: FastifyInstance, deps: PolicyRouteDeps): void {
  const { enforcer, store } = deps;

  app.post('/api/v1/policy', { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } }, async (request, reply) => {
    const body = parseJsonBody(applyBody, request.body);
    const applied = await enforcer.apply(body.policy, request.identity!, request.ip);
    return reply.code(201).send({ policy: policyJson(applied), drift: enforcer.drift(applied.tenant) });
  });

  app.get<{ Querystring: { at?: string } }>('/api/v1/policy', { config: { permission: 'audit', tenancy: 'request' } }, async (request) => {
    const atMs = request.query.at === undefined ? undefined : Number(parseLokiTime(request.query.at, 0n, 'at') / 1_000_000n);
    const policy = await store.inForce(request.tenant, atMs);
    if (!policy)
      throw new MeshlogError(
        'ML_NOT_FOUND',
        `tenant "${request.tenant}" had no logging policy ${atMs === undefined ? 'applied' : `at ${new Date(atMs).toISOString()}`}`,
      );
    return { policy: policyJson(policy) };
  });

  app.get('/api/v1/policy/history', { config: { permission: 'audit', tenancy: 'request' } }, async (request) => ({
    versions: (await store.history(request.tenant)).map((version) => ({
      ...version,
      applied_at: isoOfStored(version.applied_at),
      signature: JSON.parse(version.signature) as unknown,
    })),
  }));

  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/api/v1/policy/drift',
    { config: { permission: 'audit', tenancy: 'request' } },
    async (request) => {
      const toMs = Number(parseLokiTime(request.query.to, BigInt(Date.now()) * 1_000_000n, 'to') / 1_000_000n);
      const fromMs = Number(parseLokiTime(request.query.from, BigInt(toMs - 86_400_000) * 1_000_000n, 'from') / 1_000_000n);
      return {
        evaluated_at: enforcer.lastEvaluatedAtMs === 0 ? null : new Date(enforcer.lastEvaluatedAtMs).toISOString(),
        evaluation_interval_ms: enforcer.timing.intervalMs,
        open: enforcer.drift(request.tenant),
        events: (await store.driftEvents(request.tenant, fromMs, toMs)).map((event) => ({ ...event, at: isoOfStored(event.at) })),
      };
    },
  );
}
