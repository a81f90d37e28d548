import type { Logger } from 'pino';
import { newLogRecord, type LogRecord } from '../model/logRecord.js';
import { scrubText, scrubValue } from '../observability/credentialScrubber.js';
import { auditTenant } from '../model/auditTenant.js';
import type { Identity } from './identity.js';
import { singleTenant } from './grants.js';

export type AuditOutcome = 'success' | 'denied' | 'failure';

export interface AuditEvent {
  /** Dotted verb: auth.login, auth.failure, query, keys.create, server.start… */
  action: string;
  outcome: AuditOutcome;
  actor?: Identity;
  remoteAddress?: string;
  tenant?: string;
  /** What was acted on: a key id, a query path, a tenant. */
  target?: string;
  detail?: Record<string, unknown>;
}

/** How long a successful authentication of one credential stays one audit record (ingest would flood it otherwise). */
const loginWindowMs = 10 * 60 * 1000;

/**
 * meshlog's own audit trail: records in the reserved `_audit` tenant,
 * committed through the same writer, so they are sealed into a hash chain
 * and checked by `meshlog verify` like every log.
 */
/** Where audit events are committed: the ingest writer, which seals them like every log (security does not import ingest). */
export interface AuditRecordWriter {
  /** Resolves once committed; `exempt`: never refused as overload. */
  write(records: LogRecord[], receiver: string, options: { exempt?: boolean }): Promise<void>;
}

export class AuditTrail {
  private readonly lastLogin = new Map<string, number>();

  constructor(
    private readonly writer: AuditRecordWriter,
    private readonly logger: Logger,
  ) {}

  /**
   * Resolves once the event is committed. Every text of the event is
   * scrubbed of credentials first (the trail is immutable: a key written
   * into it could never be removed), whatever its caller already did.
   */
  async record(unscrubbed: AuditEvent): Promise<void> {
    const event = scrubEvent(unscrubbed);
    const actor = event.actor;
    const attributes: Record<string, string> = {
      'audit.action': event.action,
      'audit.outcome': event.outcome,
      'audit.actor.id': actor?.id ?? '',
      'audit.actor.name': actor?.name ?? '',
      'audit.actor.kind': actor?.kind ?? '',
      'audit.actor.roles': actor?.roles.join(',') ?? '',
      'audit.remote_address': event.remoteAddress ?? '',
      // What a credential of one tenant does is that tenant's business: its auditors read it (see GET /api/v1/audit).
      'audit.tenant': event.tenant ?? singleTenant(actor?.tenants ?? []) ?? '',
      'audit.target': event.target ?? '',
    };
    if (event.detail) attributes['audit.detail'] = JSON.stringify(event.detail);
    const body = `${actor?.name ?? 'unauthenticated'} ${event.action} ${event.target ?? ''} → ${event.outcome}`.replace(/\s+/g, ' ');
    const record = newLogRecord({
      tenant: auditTenant,
      body,
      receiver: 'audit',
      serviceName: 'meshlog',
      severityNumber: event.outcome === 'success' ? 9 : 13,
      severityText: event.outcome === 'success' ? 'INFO' : 'WARN',
      attributes,
    });
    try {
      await this.writer.write([record], 'audit', { exempt: true });
    } catch (error) {
      // The action itself already happened or was refused; losing its audit record must be loud.
      this.logger.error({ action: event.action, reason: scrubText((error as Error).message) }, 'audit record could not be committed');
      throw error;
    }
  }

  /** A successful authentication, recorded once per credential per window. */
  async login(actor: Identity, remoteAddress: string): Promise<void> {
    const now = Date.now();
    if (now - (this.lastLogin.get(actor.id) ?? 0) < loginWindowMs) return;
    this.lastLogin.set(actor.id, now);
    await this.record({ action: 'auth.login', outcome: 'success', actor, remoteAddress });
  }
}

/** The event with credentials scrubbed from every text it carries (the actor's id, roles and tenants are meshlog's own). */
function scrubEvent(event: AuditEvent): AuditEvent {
  return {
    ...event,
    action: scrubText(event.action),
    actor: event.actor && { ...event.actor, name: scrubText(event.actor.name) },
    remoteAddress: event.remoteAddress === undefined ? undefined : scrubText(event.remoteAddress),
    tenant: event.tenant === undefined ? undefined : scrubText(event.tenant),
    target: event.target === undefined ? undefined : scrubValue({ target: event.target }).target,
    detail: event.detail === undefined ? undefined : scrubValue(event.detail),
  };
}
