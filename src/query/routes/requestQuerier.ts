import type { FastifyReply, FastifyRequest } from 'fastify';
import type { QueryBudgets } from '../logql/queryBudget.js';
import { Querier, type QuerySources } from '../querier.js';
import { requestBudget } from './requestBudget.js';

/**
 * The Querier of one request: its tenant, or for Loki's multi-tenant reads
 * (`X-Scope-OrgID: a|b`, each tenant already checked against the credential)
 * its tenants; its reader's read policy; the request's deadline and cancellation.
 */
export function requestQuerier(
  sources: QuerySources,
  budgets: QueryBudgets | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
): Querier {
  return new Querier(sources, {
    tenant: request.tenant,
    tenants: request.tenants.length > 1 ? request.tenants : undefined,
    policy: request.readPolicy,
    budget: budgets && requestBudget(budgets, request, reply),
  });
}
