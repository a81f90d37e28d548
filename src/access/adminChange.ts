import type { FastifyRequest } from 'fastify';
import type { AuditTrail } from '../security/auditTrail.js';

/** What an admin route changed: the audit record's own part (who and from where come from the request). */
export interface AdminChange {
  action: string;
  target: string;
  /** Absent: the actor's single tenant, if it holds one (AuditTrail.record). */
  tenant?: string;
  detail?: Record<string, unknown>;
}

/** The audit record of a change an admin route made: a success by the request's identity, from its address. */
export function recordAdminChange(audit: AuditTrail, request: FastifyRequest, change: AdminChange): Promise<void> {
  return audit.record({ ...change, outcome: 'success', actor: request.identity, remoteAddress: request.ip });
}
