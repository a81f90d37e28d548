import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import { callServer, type ServerFlags } from './serverClient.js';

/** `meshlog audit --since 7d`: the audit trail, newest first (auditor or admin). */
export async function auditCommand(flags: ServerFlags & { since: string; action?: string; actor?: string; outcome?: string; limit: string; output: string }): Promise<void> {
  const params = new URLSearchParams({ since: flags.since, limit: flags.limit });
  if (flags.action) params.set('action', flags.action);
  if (flags.actor) params.set('actor', flags.actor);
  if (flags.outcome) params.set('outcome', flags.outcome);
  const { events } = await callServer<{ events: StoredAuditEvent[] }>(flags, 'GET', `/api/v1/audit?${params}`);
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  if (flags.output === 'json') return print(JSON.stringify(events, null, 2));
  for (const event of events) {
    print([event.time, event.outcome.toUpperCase(), event.action, event.actor_name || '-', event.remote_address || '-', event.tenant || '-', event.target || '-', event.detail || ''].join('\t'));
  }
}
