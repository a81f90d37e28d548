import { changeActions } from './changeSection.js';

/**
 * The populations behind the report's sections, as an auditor samples them:
 * each a test on an audit event's action (and outcome), so an export of one
 * over a period holds exactly the events the section counted.
 */
export const auditPopulations: Record<string, (event: { action: string; outcome: string }) => boolean> = {
  all: () => true,
  changes: (event) => changeActions.test(event.action),
  grants_and_revocations: (event) =>
    /^keys\.(create|revoke)$/.test(event.action) || /^users\.(create|update|disable|enable)$/.test(event.action),
  logins: (event) => /^auth\.(login|failure|throttled|session\.login|session\.logout)$/.test(event.action),
  failed_logins: (event) =>
    event.action === 'auth.failure' ||
    event.action === 'auth.throttled' ||
    (event.action === 'auth.session.login' && event.outcome !== 'success'),
  access_denied: (event) => event.action === 'access.denied',
  data_access: (event) =>
    /^(query|query\.export|archive\.export|audit\.read|admin\.read|data\.unmask|report\.generate|incident\.export)$/.test(event.action),
  disposals: (event) => event.action === 'retention.dispose' || event.action.startsWith('legal_hold.'),
  erasures: (event) => event.action.startsWith('erasure.'),
  alerts: (event) => event.action.startsWith('alert.') || event.action.startsWith('alert_rules.') || event.action.startsWith('silences.'),
  incidents: (event) => event.action.startsWith('incident.'),
  backups: (event) => event.action.startsWith('backup.'),
  availability: (event) => event.action === 'server.start' || event.action === 'server.stop',
};

export const auditColumns = [
  'time',
  'action',
  'outcome',
  'actor_id',
  'actor_name',
  'actor_kind',
  'remote_address',
  'tenant',
  'target',
  'detail',
] as const;
