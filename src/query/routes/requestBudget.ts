import type { FastifyReply, FastifyRequest } from 'fastify';
import type { QueryBudget, QueryBudgets } from '../logql/queryBudget.js';

/**
 * A budget for the query a request runs: `query.timeout` from now, cancelled
 * when the client goes away before its answer (the connection closed while
 * the response is unfinished), released once the response is done.
 */
export function requestBudget(budgets: QueryBudgets, request: FastifyRequest, reply: FastifyReply): QueryBudget {
  const budget = budgets.open();
  const response = reply.raw;
  const onClose = () => {
    if (!response.writableFinished) budget.cancel('client_closed');
    budgets.release(budget);
  };
  response.once('close', onClose);
  // A socket already gone (the client hung up while the request was being authenticated).
  if (request.raw.destroyed || request.raw.socket?.destroyed) budget.cancel('client_closed');
  return budget;
}
