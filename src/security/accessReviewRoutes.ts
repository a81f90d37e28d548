import type { FastifyInstance } from 'fastify';
import type { AccessReviewResponse, AccessReviewsResponse } from '../api/accessReviews.js';
import { z } from 'zod';
import type { AccessReviews } from './accessReviews.js';
import { parseJsonBody } from '../formats/jsonBody.js';

const startBody = z.object({ tenant: z.string().regex(/^[A-Za-z0-9.-][A-Za-z0-9_.-]{0,127}$/, 'a tenant name') }).strict();
const decisionBody = z.object({ decision: z.enum(['keep', 'revoke']), comment: z.string().max(2000).default('') }).strict();
const signOffBody = z.object({ comment: z.string().max(2000).default('') }).strict();
const listQuery = z.object({ tenant: z.string().max(128).optional(), state: z.enum(['open', 'decided', 'signed_off']).optional() });

/**
 * Access reviews (admin or auditor of the review's tenant): start, list,
 * show, decide an item, sign off. Each step writes its own access_review.*
 * audit event (in AccessReviews), so the routes are audited by themselves.
 */
export function accessReviewRoutes(app: FastifyInstance, reviews: AccessReviews): void {
  app.get<{ Reply: AccessReviewsResponse }>(
    '/api/v1/access-reviews',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request) => ({
      reviews: await reviews.list(request.identity!, parseJsonBody(listQuery, request.query)),
    }),
  );

  app.post<{ Reply: AccessReviewResponse }>(
    '/api/v1/access-reviews',
    { config: { permission: 'audit', tenancy: 'named', auditedByRoute: true } },
    async (request, reply) => {
      const { tenant } = parseJsonBody(startBody, request.body);
      const id = await reviews.start(request.identity!, tenant, request.ip);
      return reply.code(201).send({ review: await reviews.show(request.identity!, id) });
    },
  );

  app.get<{ Params: { id: string }; Reply: AccessReviewResponse }>(
    '/api/v1/access-reviews/:id',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request) => ({
      review: await reviews.show(request.identity!, request.params.id),
    }),
  );

  app.post<{ Params: { id: string; item: string }; Reply: AccessReviewResponse }>(
    '/api/v1/access-reviews/:id/items/:item/decision',
    { config: { permission: 'audit', tenancy: 'named', auditedByRoute: true } },
    async (request) => {
      const body = parseJsonBody(decisionBody, request.body);
      return {
        review: await reviews.decide(request.identity!, request.params.id, request.params.item, body.decision, body.comment, request.ip),
      };
    },
  );

  app.post<{ Params: { id: string }; Reply: AccessReviewResponse }>(
    '/api/v1/access-reviews/:id/sign-off',
    { config: { permission: 'audit', tenancy: 'named', auditedByRoute: true } },
    async (request) => {
      const body = parseJsonBody(signOffBody, request.body);
      return { review: await reviews.signOff(request.identity!, request.params.id, body.comment, request.ip) };
    },
  );
}
