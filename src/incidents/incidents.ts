import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { MeshlogError } from '../errors.js';
import {
  alertingActor,
  foldIncident,
  foldIncidents,
  type Incident,
  type IncidentEvent,
  type IncidentSeverity,
  type IncidentState,
  type PinnedThing,
  incidentSeverities,
} from '../model/incident.js';
import type { AuditTrail } from '../security/auditTrail.js';
import type { Identity } from '../security/identity.js';
import type { AlertTransition } from '../storage/stores/alertStore.js';
import type { IncidentStore } from '../storage/stores/incidentStore.js';
import { heldRecordKey, type LegalHold } from '../storage/stores/retentionStore.js';

/** Most lines one incident pins: each is a parameter of every disposal run while it is held. */
export const maxPinnedLines = 1000;

/** A line as a reader names it: its place in its chain (`<chain>#<seq>#<pos>`), or what Explore shows of it. */
export type LineReference = { record: string } | { timestamp_ns: string; line: string; service?: string };

export type PinRequest =
  | ({ kind: 'line'; note?: string } & LineReference)
  | { kind: 'query'; query: string; from: string; to: string; note?: string }
  | { kind: 'trace'; trace_id: string; note?: string }
  | { kind: 'pattern'; service: string; pattern: string; note?: string };

export interface OpenRequest {
  title: string;
  severity: IncidentSeverity;
  owner?: string;
}

let lastEventMs = 0;
let eventCounter = 0;

/** Sortable within a millisecond and unique: the time, a counter and randomness. */
function nextEventId(atMs: number): string {
  eventCounter = atMs === lastEventMs ? eventCounter + 1 : 0;
  lastEventMs = atMs;
  return `${atMs.toString(36).padStart(9, '0')}-${eventCounter.toString(36).padStart(4, '0')}-${randomBytes(3).toString('hex')}`;
}

/** Severity an alert's `severity` label asks for, when it names one. */
function severityOfAlert(labels: Record<string, string>): IncidentSeverity {
  const asked = (labels.severity ?? '').toLowerCase();
  const aliases: Record<string, IncidentSeverity> = { page: 'critical', error: 'high', warning: 'medium', warn: 'medium', info: 'low' };
  return (incidentSeverities as readonly string[]).includes(asked) ? (asked as IncidentSeverity) : (aliases[asked] ?? 'high');
}

export function parseRecordKey(record: string): { chain_id: string; batch_seq: number; batch_pos: number } {
  const match = /^(.+)#(\d{1,15})#(\d{1,9})$/.exec(record);
  if (!match) throw new MeshlogError('ML_DECODE', `record must be <chain>#<batch_seq>#<batch_pos>, not "${record.slice(0, 80)}"`);
  return { chain_id: match[1], batch_seq: Number(match[2]), batch_pos: Number(match[3]) };
}

/**
 * The incident workspace (docs/incidents.md): incidents opened by hand or
 * by alerts of rules marked `open_incident`, their notes, state changes and
 * pins, each an appended timeline event and, when a person made it, an
 * audit event. Pinned lines are held from retention while the incident is
 * not resolved and for `holdAfterResolveMs` after.
 */
export class Incidents {
  /** One change at a time, so an alert firing twice at once opens one incident. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: IncidentStore,
    private readonly audit: AuditTrail,
    readonly holdAfterResolveMs: number,
    private readonly logger: Logger,
  ) {}

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writing.then(work, work);
    this.writing = run.catch(() => undefined);
    return run;
  }

  private event(
    tenant: string,
    incidentId: string,
    kind: string,
    actor: Identity | undefined,
    detail: object,
    atMs = Date.now(),
  ): IncidentEvent {
    return {
      tenant,
      incident_id: incidentId,
      event_id: nextEventId(atMs),
      at: new Date(atMs).toISOString(),
      kind,
      actor: actor?.name ?? alertingActor,
      actor_id: actor?.id ?? '',
      detail: JSON.stringify(detail),
    };
  }

  async list(tenant: string): Promise<Incident[]> {
    return foldIncidents(await this.store.events(tenant)).reverse();
  }

  /** The tenant's incident, or not found (another tenant's incident is not found either). */
  async get(tenant: string, id: string): Promise<Incident> {
    const incident = /^[a-z0-9-]{1,40}$/.test(id) ? foldIncident(await this.store.events(tenant, id)) : undefined;
    if (!incident) throw new MeshlogError('ML_NOT_FOUND', `no incident ${id.slice(0, 80)}`);
    return incident;
  }

  async open(tenant: string, request: OpenRequest, actor: Identity, remoteAddress?: string): Promise<Incident> {
    const id = `inc-${randomBytes(5).toString('hex')}`;
    const detail = { title: request.title, severity: request.severity, owner: request.owner ?? actor.name, source: 'manual' };
    await this.store.append([this.event(tenant, id, 'opened', actor, detail)]);
    await this.audit.record({ action: 'incident.open', outcome: 'success', actor, remoteAddress, tenant, target: id, detail });
    return this.get(tenant, id);
  }

  /**
   * A rule marked open_incident fired or resolved: a firing joins the
   * tenant's unresolved incident that already links this alert, or opens
   * one; a resolution goes on the timeline of the incidents linking it.
   */
  async onAlert(transition: AlertTransition): Promise<void> {
    await this.serially(async () => {
      const linking = (await this.list(transition.tenant)).filter((incident) =>
        incident.alerts.some((alert) => alert.fingerprint === transition.fingerprint),
      );
      const alert = {
        fingerprint: transition.fingerprint,
        alertname: transition.alertName,
        labels: transition.labels,
        value: transition.value,
        summary: transition.annotations.summary ?? '',
      };
      if (transition.state === 'resolved') {
        await this.store.append(
          linking
            .filter((incident) => incident.state !== 'resolved')
            .map((incident) => this.event(incident.tenant, incident.id, 'alert_resolved', undefined, alert, transition.atMs)),
        );
        return;
      }
      const unresolved = linking.find((incident) => incident.state !== 'resolved');
      if (unresolved) {
        await this.store.append([this.event(unresolved.tenant, unresolved.id, 'alert_firing', undefined, alert, transition.atMs)]);
        return;
      }
      const id = `inc-${randomBytes(5).toString('hex')}`;
      const title = transition.annotations.summary ? `${transition.alertName}: ${transition.annotations.summary}` : transition.alertName;
      const opened = { title: title.slice(0, 200), severity: severityOfAlert(transition.labels), owner: '', source: 'alert' };
      await this.store.append([
        this.event(transition.tenant, id, 'opened', undefined, opened, transition.atMs),
        this.event(transition.tenant, id, 'alert_firing', undefined, alert, transition.atMs),
      ]);
      await this.audit.record({
        action: 'incident.open',
        outcome: 'success',
        tenant: transition.tenant,
        target: id,
        detail: { ...opened, alert: transition.alertName, fingerprint: transition.fingerprint },
      });
      this.logger.info({ tenant: transition.tenant, incident: id, alert: transition.alertName }, 'incident opened by an alert');
    });
  }

  /** The same, for the rule engine's listener, which must not throw. */
  alertListener(): (transition: AlertTransition) => void {
    return (transition) => {
      this.onAlert(transition).catch((error: unknown) =>
        this.logger.error(
          { reason: (error as Error).message, alert: transition.alertName },
          'could not open or update an incident for an alert',
        ),
      );
    };
  }

  async note(tenant: string, id: string, text: string, actor: Identity, remoteAddress?: string): Promise<Incident> {
    await this.get(tenant, id);
    await this.store.append([this.event(tenant, id, 'note', actor, { text })]);
    await this.audit.record({
      action: 'incident.note',
      outcome: 'success',
      actor,
      remoteAddress,
      tenant,
      target: id,
      detail: { characters: text.length },
    });
    return this.get(tenant, id);
  }

  async setState(tenant: string, id: string, to: IncidentState, actor: Identity, remoteAddress?: string, reason = ''): Promise<Incident> {
    return this.serially(async () => {
      const incident = await this.get(tenant, id);
      if (incident.state === to) throw new MeshlogError('ML_CONFLICT', `incident ${id} is already ${to}`);
      const detail = { from: incident.state, to, reason };
      await this.store.append([this.event(tenant, id, 'state', actor, detail)]);
      await this.audit.record({ action: 'incident.state', outcome: 'success', actor, remoteAddress, tenant, target: id, detail });
      return this.get(tenant, id);
    });
  }

  /** Owner, severity or title: each change its own timeline event, all in one audit event. */
  async update(
    tenant: string,
    id: string,
    changes: { owner?: string; severity?: IncidentSeverity; title?: string },
    actor: Identity,
    remoteAddress?: string,
  ): Promise<Incident> {
    return this.serially(async () => {
      const incident = await this.get(tenant, id);
      const events = (['owner', 'severity', 'title'] as const)
        .filter((field) => changes[field] !== undefined && changes[field] !== incident[field])
        .map((field) => this.event(tenant, id, field, actor, { from: incident[field], to: changes[field] }));
      if (events.length === 0) return incident;
      await this.store.append(events);
      await this.audit.record({
        action: 'incident.update',
        outcome: 'success',
        actor,
        remoteAddress,
        tenant,
        target: id,
        detail: Object.fromEntries(events.map((event) => [event.kind, JSON.parse(event.detail) as unknown])),
      });
      return this.get(tenant, id);
    });
  }

  /** Pins a line (the exact stored record, held from retention), a query with its range, a trace or a pattern. */
  async pin(tenant: string, id: string, request: PinRequest, actor: Identity, remoteAddress?: string): Promise<Incident> {
    return this.serially(async () => {
      const incident = await this.get(tenant, id);
      const pinned = request.kind === 'line' ? await this.resolveLine(tenant, request) : this.pinnedOf(request);
      if (pinned.kind === 'line') {
        if (incident.pins.some((pin) => pin.kind === 'line' && pin.record === pinned.record))
          throw new MeshlogError('ML_CONFLICT', `record ${pinned.record} is already pinned to incident ${id}`);
        if (incident.pins.filter((pin) => pin.kind === 'line').length >= maxPinnedLines)
          throw new MeshlogError('ML_CONFLICT', `incident ${id} already pins ${maxPinnedLines} lines, the most one incident holds`);
      }
      const note = request.note ?? '';
      await this.store.append([this.event(tenant, id, 'pin', actor, { pin: pinned, note })]);
      const { line: _line, ...described } = pinned as PinnedThing & { line?: string };
      await this.audit.record({ action: 'incident.pin', outcome: 'success', actor, remoteAddress, tenant, target: id, detail: described });
      return this.get(tenant, id);
    });
  }

  private pinnedOf(request: Exclude<PinRequest, { kind: 'line' }>): PinnedThing {
    switch (request.kind) {
      case 'query':
        return { kind: 'query', query: request.query, from: request.from, to: request.to };
      case 'trace':
        return { kind: 'trace', trace_id: request.trace_id.toLowerCase() };
      case 'pattern':
        return { kind: 'pattern', service: request.service, pattern: request.pattern };
    }
  }

  private async resolveLine(tenant: string, request: LineReference): Promise<PinnedThing> {
    let row;
    if ('record' in request) {
      const { chain_id, batch_seq, batch_pos } = parseRecordKey(request.record);
      row = await this.store.recordAt(tenant, chain_id, batch_seq, batch_pos);
    } else {
      if (!/^\d{1,19}$/.test(request.timestamp_ns))
        throw new MeshlogError('ML_DECODE', "timestamp_ns must be the line's time in Unix nanoseconds");
      [row] = await this.store.recordsAt(tenant, BigInt(request.timestamp_ns), request.line, request.service);
    }
    if (!row) throw new MeshlogError('ML_NOT_FOUND', `no stored line of tenant "${tenant}" matches`);
    return {
      kind: 'line',
      record: heldRecordKey(row.chain_id, Number(row.batch_seq), Number(row.batch_pos)),
      chain_id: row.chain_id,
      batch_seq: Number(row.batch_seq),
      batch_pos: Number(row.batch_pos),
      timestamp_ns: String(row.timestamp),
      service: row.service_name,
      line: row.body,
    };
  }

  /** Whether an incident still holds what it pinned: until resolved, and for the hold period after. */
  holds(incident: Incident, nowMs = Date.now()): boolean {
    return incident.resolved_at === null || Date.parse(incident.resolved_at) + this.holdAfterResolveMs > nowMs;
  }

  /** The pinned records of every incident that still holds them, as record-level holds the disposer respects. */
  async recordHolds(nowMs = Date.now()): Promise<LegalHold[]> {
    return foldIncidents(await this.store.events(''))
      .filter((incident) => this.holds(incident, nowMs))
      .flatMap((incident) => {
        const records = incident.pins.flatMap((pin) => (pin.kind === 'line' ? [pin.record] : []));
        if (records.length === 0) return [];
        return [
          {
            id: `incident:${incident.id}`,
            name: `incident ${incident.id}`,
            tenant: incident.tenant,
            service: '',
            from_time: null,
            to_time: null,
            reason: incident.title,
            created_by: incident.opened_by,
            created_at: incident.opened_at,
            released_at: null,
            released_by: '',
            records,
          },
        ];
      });
  }

  /** Records that an export was made (it is on the timeline as well as in the audit trail). */
  async recordExport(
    tenant: string,
    id: string,
    actor: Identity,
    remoteAddress: string | undefined,
    detail: { records: number; sha256: string },
  ): Promise<void> {
    await this.store.append([this.event(tenant, id, 'exported', actor, detail)]);
    await this.audit.record({ action: 'incident.export', outcome: 'success', actor, remoteAddress, tenant, target: id, detail });
  }
}
