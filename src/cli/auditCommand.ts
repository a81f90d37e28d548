import type { StoredAuditEvent } from '../storage/stores/auditStore.js';
import { callServer, requestServer, type ServerFlags } from './serverClient.js';

/**
 * `meshlog audit --since 7d`: the audit trail, newest first (auditor or admin).
 * With --population (and --from, --to): the whole population behind a report
 * section, oldest first, as CSV or NDJSON, however many events it holds.
 */
export async function auditCommand(
  flags: ServerFlags & {
    since: string;
    from?: string;
    to?: string;
    population?: string;
    action?: string;
    actor?: string;
    outcome?: string;
    limit: string;
    output: string;
  },
): Promise<void> {
  if (flags.population !== undefined || flags.output === 'csv' || flags.output === 'ndjson') {
    if (!flags.from) throw new Error('a population export needs --from (and --to for a closed period)');
    const params = new URLSearchParams({
      from: flags.from,
      population: flags.population ?? 'all',
      format: flags.output === 'csv' ? 'csv' : 'ndjson',
    });
    if (flags.to) params.set('to', flags.to);
    const { body } = await requestServer(flags, 'GET', `/api/v1/audit/export?${params}`);
    process.stdout.write(body);
    return;
  }
  const params = new URLSearchParams({ since: flags.since, limit: flags.limit });
  if (flags.from) params.set('from', flags.from);
  if (flags.to) params.set('to', flags.to);
  if (flags.action) params.set('action', flags.action);
  if (flags.actor) params.set('actor', flags.actor);
  if (flags.outcome) params.set('outcome', flags.outcome);
  const { events } = await callServer<{ events: StoredAuditEvent[] }>(flags, 'GET', `/api/v1/audit?${params}`);
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  if (flags.output === 'json') return print(JSON.stringify(events, null, 2));
  for (const event of events) {
    print(
      [
        event.time,
        event.outcome.toUpperCase(),
        event.action,
        event.actor_name || '-',
        event.remote_address || '-',
        event.tenant || '-',
        event.target || '-',
        event.detail || '',
      ].join('\t'),
    );
  }
}
