import type { FastifyInstance, FastifyRequest } from 'fastify';
import { stringify as yamlStringify } from 'yaml';
import type * as api from '../api/alerts.js';
import type { Alerting } from './alerting.js';
import type { AlertInstance } from './ruleEngine.js';
import { MeshlogError } from '../errors.js';
import type { AlertAcknowledgement, AlertTransition, Silence } from '../storage/stores/alertStore.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { parseLokiDuration, parseLokiTime } from '../query/lokiParams.js';
import type { ErrorFormatter } from '../http/errorReply.js';
import { shownReceiverName } from './notify/receiverName.js';
import type { LokiStream } from '../query/readMasking.js';

const promErrorFormatter: ErrorFormatter = (error) => ({
  contentType: 'application/json',
  body: JSON.stringify({ status: 'error', errorType: error.status >= 500 ? 'internal' : 'bad_data', error: error.message }),
});

function seconds(ms: number): number {
  return ms / 1000;
}

function promAlert(instance: AlertInstance): api.PrometheusAlert {
  return {
    labels: instance.labels,
    annotations: instance.annotations,
    state: instance.state,
    activeAt: new Date(instance.activeAtMs).toISOString(),
    value: String(instance.value),
  };
}

/**
 * Alerts as the reader may see them: rules evaluate stored values for no person, so their
 * labels (a `sum by (user_id)`) and annotations (`{{ $labels.user_id }}`) are masked as a
 * query's series and lines are, or their reveal recorded for a reader who may unmask.
 */
async function shownAlerts<T extends { labels: Record<string, string>; annotations: Record<string, string> }>(
  request: FastifyRequest,
  alerts: T[],
): Promise<T[]> {
  const shown = alerts.map((alert) => ({ ...alert, labels: { ...alert.labels }, annotations: { ...alert.annotations } }));
  const streams: LokiStream[] = shown.map((alert) => ({ stream: alert.labels, values: Object.entries(alert.annotations) }));
  await request.readPolicy.streams(streams);
  shown.forEach((alert, i) => (alert.annotations = Object.fromEntries(streams[i]!.values.map(([name, text]) => [name, text]))));
  return shown;
}

/**
 * Instances come in the order their rule's query returned them, by stored label
 * values: shown masked in that order, they would sort the masked values.
 * Keyed fingerprints order them by nothing a reader can see.
 */
function inFingerprintOrder(instances: AlertInstance[]): AlertInstance[] {
  return instances.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
}

function acknowledgementJson(ack: AlertAcknowledgement): api.AlertAcknowledgement {
  return {
    by: ack.by,
    at: new Date(ack.atMs).toISOString(),
    comment: ack.comment,
    seconds_to_acknowledge: (ack.atMs - ack.activeAtMs) / 1000,
  };
}

function transitionJson(transition: AlertTransition, fingerprint: string, ack?: AlertAcknowledgement): api.AlertTransition {
  return {
    ...(transition.state === 'resolved' && !ack ? {} : { acknowledged: ack ? acknowledgementJson(ack) : null }),
    fingerprint,
    namespace: transition.namespace,
    group: transition.group,
    alertname: transition.alertName,
    state: transition.state,
    labels: transition.labels,
    annotations: transition.annotations,
    value: transition.value,
    active_at: new Date(transition.activeAtMs).toISOString(),
    at: new Date(transition.atMs).toISOString(),
  };
}

function silenceJson(silence: Silence): api.Silence {
  return {
    id: silence.id,
    matchers: silence.matchers,
    starts_at: new Date(silence.startsAtMs).toISOString(),
    ends_at: new Date(silence.endsAtMs).toISOString(),
    active: silence.startsAtMs <= Date.now() && Date.now() < silence.endsAtMs,
    created_by: silence.createdBy,
    comment: silence.comment,
  };
}

/** `{ matchers, ends_at | duration, comment }`: every matcher a label name and an exact value. */
function silenceInput(text: string): { matchers: Record<string, string>; endsAtMs: number; comment: string } {
  let input: { matchers?: unknown; ends_at?: unknown; duration?: unknown; comment?: unknown };
  try {
    input = JSON.parse(text) as typeof input;
  } catch {
    throw new MeshlogError('ML_QUERY_INVALID', 'a silence is a JSON object');
  }
  const matchers = input.matchers;
  if (
    typeof matchers !== 'object' ||
    matchers === null ||
    Object.keys(matchers).length === 0 ||
    !Object.values(matchers).every((v) => typeof v === 'string')
  ) {
    throw new MeshlogError('ML_QUERY_INVALID', 'matchers: an object of label name to exact value, at least one');
  }
  if (typeof input.comment !== 'string' || input.comment.trim() === '')
    throw new MeshlogError('ML_QUERY_INVALID', 'comment: say why the alerts are silenced');
  let endsAtMs: number;
  if (typeof input.ends_at === 'string') endsAtMs = Number(parseLokiTime(input.ends_at, 0n, 'ends_at') / 1_000_000n);
  else if (typeof input.duration === 'string') endsAtMs = Date.now() + Number(parseLokiDuration(input.duration, 'duration') / 1_000_000n);
  else throw new MeshlogError('ML_QUERY_INVALID', 'ends_at (RFC3339) or duration (e.g. 2h): silences always expire');
  if (endsAtMs <= Date.now()) throw new MeshlogError('ML_QUERY_INVALID', 'the silence would already have ended');
  return { matchers: matchers as Record<string, string>, endsAtMs, comment: input.comment };
}

/**
 * Silences match stored label values. A reader who sees a label masked could
 * otherwise probe a value by silencing `user_id="alice…"` and watching which
 * alerts go quiet (the notification list says "silenced by"); matching the
 * masked form instead would silence every alert with the label, a surprise.
 * So such a matcher is refused, with the reason.
 */
function refuseMaskedMatchers(request: FastifyRequest, matchers: Record<string, string>): void {
  const masked = Object.keys(matchers).filter((name) => request.readPolicy.masksLabel(name));
  if (masked.length > 0)
    throw new MeshlogError(
      'ML_QUERY_INVALID',
      `matchers: ${masked.join(', ')} ${masked.length === 1 ? 'is' : 'are'} masked for you (masking.fields); a silence on a masked label needs the unmasker role`,
    );
}

/** `{ fingerprint, comment? }` */
function acknowledgementInput(text: string): { fingerprint: string; comment: string } {
  let input: { fingerprint?: unknown; comment?: unknown };
  try {
    input = JSON.parse(text) as typeof input;
  } catch {
    throw new MeshlogError('ML_QUERY_INVALID', 'an acknowledgement is a JSON object: {"fingerprint": "...", "comment": "..."}');
  }
  if (typeof input.fingerprint !== 'string' || input.fingerprint === '')
    throw new MeshlogError('ML_QUERY_INVALID', 'fingerprint: the alert to acknowledge (from GET /api/v1/alerts)');
  if (input.comment !== undefined && typeof input.comment !== 'string') throw new MeshlogError('ML_QUERY_INVALID', 'comment: text');
  return { fingerprint: input.fingerprint, comment: input.comment ?? '' };
}

const ackKey = (fingerprint: string, activeAtMs: number) => `${fingerprint}@${activeAtMs}`;

function body(request: FastifyRequest): string {
  return Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
}

/**
 * Alerts: meshlog's `/api/v1/alerts` (current states and recent
 * resolutions, or the whole history), Prometheus' `/prometheus/api/v1/rules`
 * and `/alerts` (Grafana's alerting views), and Loki's ruler API to manage
 * rule groups (admin).
 */
export function alertRoutes(app: FastifyInstance, alerting: Alerting, audit: AuditTrail): void {
  const { engine, store } = alerting;
  // Fingerprints stored before they were keyed could be recomputed from guessed labels: the API shows every one keyed.
  const shown = (stored: string) => alerting.fingerprints.shown(stored);

  app.get<{ Reply: api.AlertsResponse | api.AlertHistoryResponse }>(
    '/api/v1/alerts',
    { config: { permission: 'query', tenancy: 'request' } },
    async (request) => {
      const query = request.query as Record<string, string | undefined>;
      if (query.history === 'true')
        return {
          transitions: (await shownAlerts(request, await store.history(request.tenant))).map((t) =>
            transitionJson(t, shown(t.fingerprint)),
          ),
        };
      const alerts = await shownAlerts(request, await store.latest(request.tenant, Date.now() - 24 * 3_600_000));
      const since = Math.min(...alerts.map((alert) => alert.activeAtMs));
      const acks = new Map(
        alerts.length === 0
          ? []
          : (await store.acknowledgements(request.tenant, since)).map((ack) => [ackKey(ack.fingerprint, ack.activeAtMs), ack]),
      );
      return {
        alerts: alerts.map((alert) =>
          transitionJson(alert, shown(alert.fingerprint), acks.get(ackKey(alert.fingerprint, alert.activeAtMs))),
        ),
      };
    },
  );

  // Whoever is on call takes a firing alert on; the time it took is monitoring evidence (CC7.3). Audited here, with that time.
  app.post(
    '/api/v1/alerts/acknowledge',
    { config: { permission: 'query', tenancy: 'request', auditedByRoute: true } },
    async (request, reply) => {
      const { fingerprint, comment } = acknowledgementInput(body(request));
      // Only the fingerprint the API shows: a stored legacy one accepted here would confirm a guess by 201 against 404.
      const alert = (await store.latest(request.tenant, Date.now())).find(
        (t) => shown(t.fingerprint) === fingerprint && t.state === 'firing',
      );
      if (!alert) throw new MeshlogError('ML_NOT_FOUND', `no firing alert ${fingerprint} in tenant ${request.tenant}`);
      const earlier = (await store.acknowledgements(request.tenant, alert.activeAtMs)).find(
        (ack) => ack.fingerprint === alert.fingerprint && ack.activeAtMs === alert.activeAtMs,
      );
      if (earlier)
        throw new MeshlogError(
          'ML_CONFLICT',
          `${alert.alertName} was already acknowledged by ${earlier.by} at ${new Date(earlier.atMs).toISOString()}`,
        );
      const ack: AlertAcknowledgement = {
        tenant: request.tenant,
        fingerprint: alert.fingerprint,
        alertName: alert.alertName,
        activeAtMs: alert.activeAtMs,
        atMs: Date.now(),
        by: request.identity?.name ?? 'anonymous',
        comment,
      };
      await store.acknowledge(ack);
      await audit.record({
        action: 'alert.acknowledge',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant: request.tenant,
        target: fingerprint,
        detail: { alertname: alert.alertName, comment, seconds_to_acknowledge: (ack.atMs - ack.activeAtMs) / 1000 },
      });
      return reply.code(201).send({ fingerprint, alertname: alert.alertName, ...acknowledgementJson(ack) });
    },
  );

  app.get('/api/v1/alerts/notifications', { config: { permission: 'query', tenancy: 'request' } }, async (request) => ({
    attempts: (await store.attempts(request.tenant)).map((attempt) => ({
      fingerprint: shown(attempt.fingerprint),
      alertname: attempt.alertName,
      status: attempt.status,
      receiver: shownReceiverName(attempt.receiver),
      attempt: attempt.attempt,
      http_status: attempt.httpStatus,
      error: attempt.error,
      at: new Date(attempt.atMs).toISOString(),
    })),
  }));

  app.get<{ Reply: api.RulesResponse }>(
    '/prometheus/api/v1/rules',
    { config: { permission: 'query', tenancy: 'request', formatError: promErrorFormatter } },
    async (request) => {
      const groups = engine.ruleGroups(request.tenant);
      const shown = await Promise.all(
        groups.map((group) =>
          Promise.all(
            group.rules.map((rule) => shownAlerts(request, inFingerprintOrder(engine.activeInstances(request.tenant, group, rule)))),
          ),
        ),
      );
      const data: api.RulesResponse['data'] = {
        groups: groups.map((group, g) => ({
          name: group.name,
          file: group.namespace,
          interval: seconds(group.intervalMs ?? 0),
          rules: group.rules.map((rule, r) => {
            const alerts = shown[g]![r]!;
            const health = engine.healthOf(group, rule);
            return {
              type: 'alerting',
              name: rule.alert,
              query: rule.exprText,
              duration: seconds(rule.forMs),
              labels: rule.labels,
              annotations: rule.annotations,
              alerts: alerts.map(promAlert),
              state: alerts.some((a) => a.state === 'firing') ? 'firing' : alerts.length > 0 ? 'pending' : 'inactive',
              health: !health ? 'unknown' : health.lastError ? 'err' : 'ok',
              lastError: health?.lastError ?? '',
              lastEvaluation: health ? new Date(health.lastEvaluationMs).toISOString() : '0001-01-01T00:00:00Z',
              evaluationTime: health ? health.durationMs / 1000 : 0,
            };
          }),
        })),
      };
      return { status: 'success', data };
    },
  );

  app.get(
    '/prometheus/api/v1/alerts',
    { config: { permission: 'query', tenancy: 'request', formatError: promErrorFormatter } },
    async (request) => ({
      status: 'success',
      data: { alerts: (await shownAlerts(request, inFingerprintOrder(engine.activeInstances(request.tenant)))).map(promAlert) },
    }),
  );

  // Silences hold notifications back for a while; they always expire. Each change is audited.
  // A silence an unmasker set on `user_id="alice…"` names the value: a reader who may not unmask sees its matchers masked.
  app.get('/api/v1/silences', { config: { permission: 'query', tenancy: 'request' } }, async (request) => {
    const silences = alerting.silences(request.tenant).map((silence) => ({ ...silence, matchers: { ...silence.matchers } }));
    await request.readPolicy.labelSets(silences.map((silence) => silence.matchers));
    return { silences: silences.map(silenceJson) };
  });
  const audited = { config: { permission: 'query', tenancy: 'request', auditedByRoute: true } } as const;
  app.post('/api/v1/silences', audited, async (request, reply) => {
    const input = silenceInput(body(request));
    refuseMaskedMatchers(request, input.matchers);
    const silence = await alerting.addSilence(request.tenant, { ...input, createdBy: request.identity?.name ?? 'anonymous' });
    const view = silenceJson(silence);
    await audit.record({
      action: 'silences.create',
      outcome: 'success',
      actor: request.identity,
      remoteAddress: request.ip,
      tenant: request.tenant,
      target: view.id,
      detail: { ...view },
    });
    return reply.code(201).send(view);
  });
  app.delete<{ Params: { id: string } }>('/api/v1/silences/:id', audited, async (request, reply) => {
    if (!(await alerting.expireSilence(request.tenant, request.params.id)))
      throw new MeshlogError('ML_NOT_FOUND', `no active silence ${request.params.id}`);
    await audit.record({
      action: 'silences.expire',
      outcome: 'success',
      actor: request.identity,
      remoteAddress: request.ip,
      tenant: request.tenant,
      target: request.params.id,
    });
    return reply.code(202).send({ status: 'success' });
  });

  // Loki's ruler API. Changing rules changes what is monitored: admins only, and audited.
  const admin = { config: { permission: 'admin', tenancy: 'request', auditedByRoute: true } } as const;
  app.get('/loki/api/v1/rules', { config: { permission: 'query', tenancy: 'request' } }, async (request, reply) => {
    const byNamespace: Record<string, object[]> = {};
    for (const group of engine.ruleGroups(request.tenant)) {
      (byNamespace[group.namespace] ??= []).push({
        name: group.name,
        ...(group.intervalMs ? { interval: `${group.intervalMs}ms` } : {}),
        rules: group.rules.map((rule) => ({
          alert: rule.alert,
          expr: rule.exprText,
          ...(rule.forMs ? { for: `${rule.forMs}ms` } : {}),
          labels: rule.labels,
          annotations: rule.annotations,
          ...(rule.openIncident ? { open_incident: true } : {}),
        })),
      });
    }
    if (Object.keys(byNamespace).length === 0) return reply.code(404).type('text/plain').send('no rule groups found\n');
    return reply.type('application/yaml').send(yamlStringify(byNamespace));
  });
  app.post<{ Params: { namespace: string } }>('/loki/api/v1/rules/:namespace', admin, async (request, reply) => {
    const existing = new Set(engine.ruleGroups(request.tenant).map((group) => `${group.namespace}/${group.name}`));
    const group = await alerting.putGroup(request.tenant, request.params.namespace, body(request));
    await audit.record({
      action: existing.has(`${group.namespace}/${group.name}`) ? 'alert_rules.update' : 'alert_rules.create',
      outcome: 'success',
      actor: request.identity,
      remoteAddress: request.ip,
      tenant: request.tenant,
      target: `${group.namespace}/${group.name}`,
      // The whole group as it now stands: the monitoring section replays these events to show the rules in force during a past period.
      detail: {
        ...(group.intervalMs ? { interval_ms: group.intervalMs } : {}),
        rules: group.rules.map((rule) => ({
          alert: rule.alert,
          expr: rule.exprText,
          ...(rule.forMs ? { for_ms: rule.forMs } : {}),
          labels: rule.labels,
          annotations: rule.annotations,
          ...(rule.openIncident ? { open_incident: true } : {}),
        })),
      },
    });
    return reply.code(202).send({ status: 'success', data: { namespace: group.namespace, group: group.name, rules: group.rules.length } });
  });
  app.delete<{ Params: { namespace: string; group: string } }>('/loki/api/v1/rules/:namespace/:group', admin, async (request, reply) => {
    if (!(await alerting.deleteGroup(request.tenant, request.params.namespace, request.params.group))) {
      throw new MeshlogError('ML_NOT_FOUND', `no rule group ${request.params.namespace}/${request.params.group}`);
    }
    await audit.record({
      action: 'alert_rules.delete',
      outcome: 'success',
      actor: request.identity,
      remoteAddress: request.ip,
      tenant: request.tenant,
      target: `${request.params.namespace}/${request.params.group}`,
    });
    return reply.code(202).send({ status: 'success' });
  });
}
