import { writeFileSync } from 'node:fs';
import type { Incident } from '../model/incident.js';
import { callServer, requestServer, type ServerFlags } from './serverClient.js';

type IncidentFlags = ServerFlags & { tenant?: string; output: string };

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const tenantHeader = (flags: { tenant?: string }): Record<string, string> => (flags.tenant ? { 'x-scope-orgid': flags.tenant } : {});
const path = (id: string, rest = '') => `/api/v1/incidents/${encodeURIComponent(id)}${rest}`;

const seconds = (value: number | null) => (value === null ? '-' : `${value.toFixed(0)} s`);

function printIncident(incident: Incident, flags: { output: string }): void {
  if (flags.output === 'json') return print(JSON.stringify(incident, null, 2));
  print(`${incident.id}  [${incident.state}] ${incident.severity}  ${incident.title}`);
  print(
    `  tenant ${incident.tenant}, owner ${incident.owner || '(unassigned)'}, opened ${incident.opened_at} by ${incident.opened_by} (${incident.source})`,
  );
  print(
    `  acknowledged ${incident.acknowledged_at ?? 'not yet'} (${seconds(incident.seconds_to_acknowledge)}), resolved ${incident.resolved_at ?? 'not yet'} (${seconds(incident.seconds_to_resolve)})`,
  );
  if (incident.alerts.length > 0) print(`  alerts: ${incident.alerts.map((alert) => `${alert.alertname} (${alert.state})`).join(', ')}`);
  if (incident.pins.length > 0)
    print(
      `  pinned: ${incident.pins.length} (${['line', 'query', 'trace', 'pattern'].map((kind) => `${incident.pins.filter((pin) => pin.kind === kind).length} ${kind}s`).join(', ')})`,
    );
  for (const entry of incident.timeline ?? []) {
    const detail =
      entry.kind === 'note'
        ? String(entry.detail.text)
        : entry.kind === 'state'
          ? `${String(entry.detail.from)} → ${String(entry.detail.to)}`
          : entry.kind === 'pin'
            ? JSON.stringify(entry.detail.pin)
            : '';
    print(`  ${entry.at}  ${entry.by.padEnd(12)} ${entry.kind.padEnd(14)} ${detail}`);
  }
}

/** `meshlog incident open --title … [--severity] [--owner]`. */
export async function incidentOpenCommand(flags: IncidentFlags & { title: string; severity: string; owner?: string }): Promise<void> {
  const { incident } = await callServer<{ incident: Incident }>(
    flags,
    'POST',
    '/api/v1/incidents',
    { title: flags.title, severity: flags.severity, ...(flags.owner ? { owner: flags.owner } : {}) },
    tenantHeader(flags),
  );
  printIncident(incident, flags);
}

/** `meshlog incident list [--state]`: the tenant's incidents, newest first. */
export async function incidentListCommand(flags: IncidentFlags & { state?: string }): Promise<void> {
  const { incidents } = await callServer<{ incidents: Incident[] }>(
    flags,
    'GET',
    `/api/v1/incidents${flags.state ? `?state=${encodeURIComponent(flags.state)}` : ''}`,
    undefined,
    tenantHeader(flags),
  );
  if (flags.output === 'json') return print(JSON.stringify(incidents, null, 2));
  if (incidents.length === 0) return print('no incidents');
  for (const incident of incidents) {
    print(
      `${incident.id}\t${incident.state}\t${incident.severity}\t${incident.opened_at}\tack ${seconds(incident.seconds_to_acknowledge)}\tresolve ${seconds(incident.seconds_to_resolve)}\t${incident.title}`,
    );
  }
}

export async function incidentShowCommand(id: string, flags: IncidentFlags): Promise<void> {
  const { incident } = await callServer<{ incident: Incident }>(flags, 'GET', path(id), undefined, tenantHeader(flags));
  printIncident(incident, flags);
}

export async function incidentNoteCommand(id: string, text: string, flags: IncidentFlags): Promise<void> {
  const { incident } = await callServer<{ incident: Incident }>(flags, 'POST', path(id, '/notes'), { text }, tenantHeader(flags));
  printIncident(incident, flags);
}

export async function incidentStateCommand(id: string, state: string, flags: IncidentFlags & { reason?: string }): Promise<void> {
  const { incident } = await callServer<{ incident: Incident }>(
    flags,
    'POST',
    path(id, '/state'),
    { state, ...(flags.reason ? { reason: flags.reason } : {}) },
    tenantHeader(flags),
  );
  printIncident(incident, flags);
}

/** `meshlog incident pin <id> --record … | --query … --from … --to … | --trace … | --pattern … --service …`. */
export async function incidentPinCommand(
  id: string,
  flags: IncidentFlags & {
    record?: string;
    query?: string;
    from?: string;
    to?: string;
    trace?: string;
    pattern?: string;
    service?: string;
    note?: string;
  },
): Promise<void> {
  const chosen = [flags.record, flags.query, flags.trace, flags.pattern].filter((value) => value !== undefined).length;
  if (chosen !== 1) throw new Error('pin exactly one of --record, --query (with --from and --to), --trace or --pattern (with --service)');
  if (flags.query !== undefined && (!flags.from || !flags.to))
    throw new Error('a pinned query keeps its time range: pass --from and --to (RFC3339 or Unix nanoseconds)');
  const note = flags.note ? { note: flags.note } : {};
  const body =
    flags.record !== undefined
      ? { kind: 'line', record: flags.record, ...note }
      : flags.query !== undefined
        ? { kind: 'query', query: flags.query, from: flags.from, to: flags.to, ...note }
        : flags.trace !== undefined
          ? { kind: 'trace', trace_id: flags.trace, ...note }
          : { kind: 'pattern', pattern: flags.pattern, service: flags.service ?? '', ...note };
  const { incident } = await callServer<{ incident: Incident }>(flags, 'POST', path(id, '/pins'), body, tenantHeader(flags));
  printIncident(incident, flags);
}

/** `meshlog incident export <id> --out FILE [--review FILE]`: the signed bundle (check it with `meshlog report verify FILE`). */
export async function incidentExportCommand(
  id: string,
  flags: ServerFlags & { tenant?: string; out: string; review?: string },
): Promise<void> {
  const { body, headers } = await requestServer(flags, 'GET', path(id, '/export'), undefined, tenantHeader(flags));
  writeFileSync(flags.out, body);
  print(
    `wrote ${flags.out} (${body.length} bytes, sha256 ${headers.get('x-meshlog-bundle-sha256') ?? '?'}); check it offline with: meshlog report verify ${flags.out} --public-key <data_dir>-signing.key.pub`,
  );
  if (flags.review) {
    const review = await requestServer(flags, 'GET', path(id, '/review'), undefined, tenantHeader(flags));
    writeFileSync(flags.review, review.body);
    print(`wrote the post-incident review template ${flags.review}`);
  }
}
