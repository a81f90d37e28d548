import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldIncident, foldIncidents, type IncidentEvent } from '../../src/model/incident.js';

let seq = 0;
const event = (incident: string, at: string, kind: string, actor: string, detail: object, tenant = 'acme'): IncidentEvent => ({
  tenant,
  incident_id: incident,
  event_id: String(seq++).padStart(6, '0'),
  at,
  kind,
  actor,
  actor_id: actor === 'alerting' ? '' : `key-${actor}`,
  detail: JSON.stringify(detail),
});

test('an incident opened by an alert is acknowledged by the first person who acts on it, not by the alert firing again', () => {
  const incident = foldIncident([
    event('inc-1', '2026-03-01 10:00:00.000', 'opened', 'alerting', { title: 'Errors', severity: 'high', owner: '', source: 'alert' }),
    event('inc-1', '2026-03-01 10:00:00.000', 'alert_firing', 'alerting', {
      fingerprint: 'f1',
      alertname: 'Errors',
      labels: { service_name: 'api' },
    }),
    event('inc-1', '2026-03-01 10:03:00.000', 'alert_firing', 'alerting', {
      fingerprint: 'f1',
      alertname: 'Errors',
      labels: { service_name: 'api' },
    }),
    event('inc-1', '2026-03-01 10:05:30.000', 'note', 'ana', { text: 'looking' }),
    event('inc-1', '2026-03-01 10:20:00.000', 'state', 'ana', { from: 'open', to: 'mitigated' }),
    event('inc-1', '2026-03-01 10:30:00.000', 'alert_resolved', 'alerting', { fingerprint: 'f1', alertname: 'Errors' }),
    event('inc-1', '2026-03-01 11:00:00.000', 'state', 'bob', { from: 'mitigated', to: 'resolved' }),
  ])!;
  assert.equal(incident.acknowledged_by, 'ana');
  assert.equal(incident.seconds_to_acknowledge, 330);
  assert.equal(incident.mitigated_at, '2026-03-01T10:20:00.000Z');
  assert.equal(incident.seconds_to_resolve, 3600);
  assert.equal(incident.state, 'resolved');
  assert.deepEqual(
    incident.alerts.map((alert) => [alert.alertname, alert.state, alert.resolved_at]),
    [['Errors', 'resolved', '2026-03-01T10:30:00.000Z']],
  );
});

test('a reopened incident is unresolved again, and its time to resolve counts to the last resolution', () => {
  const events = [
    event('inc-2', '2026-03-01T10:00:00.000Z', 'opened', 'ana', { title: 'Slow', severity: 'low', owner: 'ana', source: 'manual' }),
    event('inc-2', '2026-03-01T10:10:00.000Z', 'state', 'ana', { from: 'open', to: 'resolved' }),
    event('inc-2', '2026-03-01T10:15:00.000Z', 'state', 'bob', { from: 'resolved', to: 'open' }),
  ];
  const reopened = foldIncident(events)!;
  assert.equal(reopened.state, 'open');
  assert.equal(reopened.resolved_at, null);
  assert.equal(reopened.seconds_to_resolve, null);
  // Opened by a person: acknowledged at once.
  assert.equal(reopened.seconds_to_acknowledge, 0);
  const resolved = foldIncident([...events, event('inc-2', '2026-03-01T11:00:00.000Z', 'state', 'bob', { from: 'open', to: 'resolved' })])!;
  assert.equal(resolved.seconds_to_resolve, 3600);
});

test('events of several tenants and incidents fold apart, and a timeline without its opening is no incident', () => {
  const all = foldIncidents([
    event('inc-3', '2026-03-02T09:00:00.000Z', 'opened', 'ana', { title: 'A', severity: 'high', owner: '', source: 'manual' }),
    event('inc-3', '2026-03-02T09:00:00.000Z', 'opened', 'gus', { title: 'G', severity: 'low', owner: '', source: 'manual' }, 'globex'),
    event('inc-3', '2026-03-02T09:01:00.000Z', 'note', 'gus', { text: 'globex only' }, 'globex'),
    event('inc-4', '2026-03-02T09:02:00.000Z', 'note', 'ana', { text: 'orphan' }),
  ]);
  assert.deepEqual(
    all.map((incident) => [incident.tenant, incident.title, incident.timeline.length]),
    [
      ['acme', 'A', 1],
      ['globex', 'G', 2],
    ],
  );
});
