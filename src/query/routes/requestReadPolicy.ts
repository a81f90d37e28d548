import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ReadPolicy, type ReadMaskingDeps } from '../readPolicy.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What this request's reader may see of sensitive values: every read path masks its answers with it. */
    readPolicy: ReadPolicy;
  }
}

/**
 * Gives each request its reader's read policy, from the identity the
 * credential resolved to (set when the request is authenticated), so that
 * hooks running before the handler (a tail's, opening before the upgrade) see it too.
 */
export function decorateReadPolicy(app: FastifyInstance, masking: ReadMaskingDeps | undefined): void {
  app.decorateRequest('readPolicy', {
    getter(this: FastifyRequest): ReadPolicy {
      return ReadPolicy.of(masking, {
        identity: this.identity,
        remoteAddress: this.ip,
        tenant: this.tenant,
        tenants: this.tenants,
        target: this.routeOptions.url,
        url: this.url,
      });
    },
  });
}
