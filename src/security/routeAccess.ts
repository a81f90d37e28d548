import type { Permission } from './identity.js';

/**
 * Which tenants a route acts on, checked before its handler runs:
 * - `none`: no tenant's data (handshakes, build info, the UI's files, public keys).
 * - `request`: the request's tenant only, from X-Scope-OrgID among the credential's.
 * - `named`: tenants named in its parameters or body, or lists of every tenant's
 *   objects; the handler checks each named tenant (`tenantFor`) and filters lists
 *   to the credential's tenants (`sees`, `holdsTenants`).
 * - `all`: the whole installation (backups, storage keys, tenants, disposal runs):
 *   only a credential for every tenant (`*`).
 */
export type Tenancy = 'none' | 'request' | 'named' | 'all';

export interface RouteAccess {
  permission: Permission | 'public';
  tenancy: Tenancy;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Every HTTP route's permission and tenancy, in one table an auditor can
 * read (GET /api/v1/admin/routes answers it). A route missing here and not
 * declaring both in its own config refuses to register: the server does
 * not start, so no route ships without a decision.
 */
const table: [Method[], string, Permission | 'public', Tenancy][] = [
  [['GET'], '/ready', 'public', 'none'],
  [['GET'], '/metrics', 'audit', 'all'],

  // Shippers' write paths: records land in the request's tenant.
  [['POST'], '/v1/logs', 'ingest', 'request'],
  [['POST'], '/otlp/v1/logs', 'ingest', 'request'],
  [['POST'], '/v1/traces', 'ingest', 'request'],
  [['POST'], '/loki/api/v1/push', 'ingest', 'request'],
  [['POST'], '/api/v2/logs', 'ingest', 'request'],
  [['POST'], '/api/v2/spans', 'ingest', 'request'],
  [['POST', 'PUT'], '/_bulk', 'ingest', 'request'],
  [['POST', 'PUT'], '/:index/_bulk', 'ingest', 'request'],
  // Elasticsearch's single-document APIs (the clients' index() and create()), each a one-action _bulk.
  [['POST'], '/:index/_doc', 'ingest', 'request'],
  [['POST', 'PUT'], '/:index/_doc/:id', 'ingest', 'request'],
  [['POST', 'PUT'], '/:index/_create/:id', 'ingest', 'request'],
  // Datadog's v1 intake (datadog-winston): the API key in the path or the DD-API-KEY header.
  [['POST'], '/v1/input', 'ingest', 'request'],
  [['POST'], '/v1/input/:apiKey', 'ingest', 'request'],
  [['POST'], '/services/collector', 'ingest', 'request'],
  [['POST'], '/services/collector/event', 'ingest', 'request'],
  [['POST'], '/services/collector/event/1.0', 'ingest', 'request'],
  [['POST'], '/services/collector/raw', 'ingest', 'request'],
  [['POST'], '/services/collector/raw/1.0', 'ingest', 'request'],
  [['POST'], '/services/collector/ack', 'ingest', 'request'],
  [['GET'], '/services/collector/health', 'public', 'none'],
  [['GET'], '/services/collector/health/1.0', 'public', 'none'],
  // The Elasticsearch handshake shippers make before their first _bulk: canned answers, no data.
  [['GET'], '/', 'ingest', 'none'],
  [['GET'], '/_license', 'ingest', 'none'],
  [['GET'], '/_xpack', 'ingest', 'none'],
  [['GET'], '/_cluster/health', 'ingest', 'none'],
  [['GET'], '/_nodes', 'ingest', 'none'],
  [['GET'], '/_nodes/*', 'ingest', 'none'],
  // Committed records are already searchable: a refresh is acknowledged, no data is read.
  [['GET', 'POST'], '/_refresh', 'ingest', 'none'],
  [['GET', 'POST'], '/:index/_refresh', 'ingest', 'none'],
  ...['/_index_template', '/_component_template', '/_template', '/_ilm/policy', '/_ingest/pipeline', '/_alias', '/_data_stream'].map(
    (prefix): [Method[], string, Permission, Tenancy] => [['GET', 'PUT', 'POST', 'DELETE'], `${prefix}/:name`, 'ingest', 'none'],
  ),

  // Loki's read API and meshlog's own reads: the request's tenant.
  ...['/detected_fields', '/detected_labels', '/patterns', '/tail'].map((path): [Method[], string, Permission, Tenancy] => [
    ['GET'],
    `/loki/api/v1${path}`,
    'query',
    'request',
  ]),
  // Loki takes these as GET or as POST with a form body (Grafana posts long queries).
  ...[
    '/query_range',
    '/query',
    '/labels',
    '/label',
    '/label/:name/values',
    '/series',
    '/index/stats',
    '/index/volume',
    '/index/volume_range',
  ].map((path): [Method[], string, Permission, Tenancy] => [['GET', 'POST'], `/loki/api/v1${path}`, 'query', 'request']),
  [['GET', 'POST'], '/loki/api/v1/detected_field/:name/values', 'query', 'request'],
  // The tenant's limits as Logs Drilldown reads them (Loki: GET only).
  [['GET'], '/loki/api/v1/drilldown-limits', 'query', 'request'],
  [['GET', 'POST'], '/loki/api/v1/format_query', 'query', 'none'],
  [['GET'], '/loki/api/v1/status/buildinfo', 'query', 'none'],
  [['GET'], '/loki/api/v1/rules', 'query', 'request'],
  [['POST'], '/loki/api/v1/rules/:namespace', 'admin', 'request'],
  [['DELETE'], '/loki/api/v1/rules/:namespace/:group', 'admin', 'request'],
  [['GET'], '/prometheus/api/v1/rules', 'query', 'request'],
  [['GET'], '/prometheus/api/v1/alerts', 'query', 'request'],
  [['GET'], '/api/v1/tail', 'query', 'request'],
  [['GET'], '/api/v1/tenants', 'query', 'named'],
  [['GET'], '/api/v1/export', 'query', 'request'],
  [['GET'], '/api/v1/traces/:traceId', 'query', 'request'],
  [['GET'], '/api/v1/patterns', 'query', 'request'],
  [['GET', 'POST'], '/api/v1/saved-queries', 'query', 'request'],
  [['DELETE'], '/api/v1/saved-queries/:id', 'query', 'request'],
  [['GET'], '/api/v1/alerts', 'query', 'request'],
  [['POST'], '/api/v1/alerts/acknowledge', 'query', 'request'],
  [['GET'], '/api/v1/alerts/notifications', 'query', 'request'],
  [['GET'], '/api/v1/alerts/backtest', 'query', 'request'],
  [['GET', 'POST'], '/api/v1/silences', 'query', 'request'],
  [['DELETE'], '/api/v1/silences/:id', 'query', 'request'],
  // Incidents of the request's tenant (docs/incidents.md): the on-call engineers who query the logs work them; each change is audited.
  [['GET', 'POST'], '/api/v1/incidents', 'query', 'request'],
  [['GET', 'PATCH'], '/api/v1/incidents/:id', 'query', 'request'],
  [['POST'], '/api/v1/incidents/:id/notes', 'query', 'request'],
  [['POST'], '/api/v1/incidents/:id/state', 'query', 'request'],
  [['POST'], '/api/v1/incidents/:id/pins', 'query', 'request'],
  [['GET'], '/api/v1/incidents/:id/review', 'query', 'request'],
  [['GET'], '/api/v1/incidents/:id/export', 'query', 'request'],

  // Evidence: auditors read their tenants' share.
  [['GET'], '/api/v1/audit', 'audit', 'named'],
  [['GET'], '/api/v1/audit/export', 'audit', 'named'],
  [['GET'], '/api/v1/integrity/public-key', 'audit', 'none'],
  [['GET'], '/api/v1/integrity/public-keys', 'audit', 'none'],
  [['GET'], '/api/v1/integrity/checkpoints', 'audit', 'named'],
  [['GET'], '/api/v1/integrity/proofs/inclusion', 'audit', 'named'],
  [['GET'], '/api/v1/integrity/proofs/consistency', 'audit', 'named'],
  [['GET'], '/api/v1/integrity/verify', 'audit', 'named'],
  [['GET'], '/api/v1/reports/soc2', 'audit', 'named'],
  [['GET'], '/api/v1/reports/soc2/dashboard', 'audit', 'named'],
  [['GET'], '/api/v1/reports', 'audit', 'all'],
  [['GET'], '/api/v1/reports/:id', 'audit', 'all'],
  [['GET'], '/api/v1/admin/erasure-requests', 'audit', 'named'],
  [['GET'], '/api/v1/admin/erasure-requests/:id', 'audit', 'named'],
  [['GET'], '/api/v1/admin/archive-keys', 'audit', 'all'],
  [['GET'], '/api/v1/admin/routes', 'audit', 'none'],
  // Access reviews: an admin or auditor of the review's tenant (checked per review and per item, see security/accessReviews.ts).
  [['GET', 'POST'], '/api/v1/access-reviews', 'audit', 'named'],
  [['GET'], '/api/v1/access-reviews/:id', 'audit', 'named'],
  [['POST'], '/api/v1/access-reviews/:id/items/:item/decision', 'audit', 'named'],
  [['POST'], '/api/v1/access-reviews/:id/sign-off', 'audit', 'named'],
  // The logging policy in force (now or at ?at=), its versions and its drift: the request's tenant.
  [['GET'], '/api/v1/policy', 'audit', 'request'],
  [['GET'], '/api/v1/policy/history', 'audit', 'request'],
  [['GET'], '/api/v1/policy/drift', 'audit', 'request'],

  // Administration.
  [['GET', 'POST'], '/api/v1/admin/keys', 'admin', 'named'],
  [['DELETE'], '/api/v1/admin/keys/:id', 'admin', 'named'],
  [['GET', 'POST'], '/api/v1/admin/users', 'admin', 'named'],
  [['PATCH'], '/api/v1/admin/users/:name', 'admin', 'named'],
  [['POST'], '/api/v1/admin/users/:name/keys', 'admin', 'named'],
  [['POST'], '/api/v1/admin/users/:name/disable', 'admin', 'named'],
  [['POST'], '/api/v1/admin/users/:name/enable', 'admin', 'named'],
  [['GET'], '/api/v1/admin/tenants', 'admin', 'named'],
  [['POST'], '/api/v1/admin/tenants', 'admin', 'all'],
  [['POST'], '/api/v1/admin/tenants/:name/disable', 'admin', 'named'],
  [['POST'], '/api/v1/admin/tenants/:name/enable', 'admin', 'named'],
  [['POST'], '/api/v1/admin/erasure-requests', 'admin', 'named'],
  [['POST'], '/api/v1/admin/erasure-requests/:id/cancel', 'admin', 'named'],
  [['POST'], '/api/v1/admin/erasure-requests/:id/execute', 'admin', 'named'],
  [['POST'], '/api/v1/admin/erasure-requests/run', 'admin', 'all'],
  [['GET'], '/api/v1/admin/retention', 'admin', 'named'],
  [['POST'], '/api/v1/admin/retention/run', 'admin', 'all'],
  [['POST'], '/api/v1/admin/legal-holds', 'admin', 'named'],
  [['DELETE'], '/api/v1/admin/legal-holds/:id', 'admin', 'named'],
  [['GET'], '/api/v1/admin/redaction', 'admin', 'none'],
  [['POST'], '/api/v1/admin/redaction/test', 'admin', 'none'],
  [['POST'], '/api/v1/admin/archives/export', 'admin', 'named'],
  [['POST'], '/api/v1/admin/archives/upload', 'admin', 'named'],
  [['POST'], '/api/v1/admin/archive-keys/shred', 'admin', 'all'],
  [['POST'], '/api/v1/admin/backups', 'admin', 'all'],
  [['POST'], '/api/v1/admin/backups/restore-tests', 'admin', 'all'],
  [['POST'], '/api/v1/admin/storage/rotate-key', 'admin', 'all'],
  // Applies a policy file to the tenant it names, which the admin must hold.
  [['POST'], '/api/v1/policy', 'admin', 'named'],
];

/**
 * The reads that take Loki's multi-tenant X-Scope-OrgID `a|b` (every tenant
 * named must be the credential's; results carry `__tenant_id__`). Every
 * other route refuses a header naming several tenants.
 */
export const multiTenantRoutes: ReadonlySet<string> = new Set(
  ['/query_range', '/query', '/labels', '/label', '/label/:name/values', '/series', '/tail'].map((path) => `/loki/api/v1${path}`),
);

const byRoute = new Map<string, RouteAccess>(
  table.flatMap(([methods, url, permission, tenancy]) => methods.map((method) => [`${method} ${url}`, { permission, tenancy }] as const)),
);

/**
 * A route's access: its table entry (HEAD as its GET), or what its own config
 * declares (a public route touches no tenant). A route with constraints (the
 * UI's `/` for browsers) is a variant of another and declares its own. Throws
 * for a route with neither, and for a route whose own permission contradicts the table.
 */
export function accessOfRoute(method: string, url: string, own: Partial<RouteAccess>, constrained: boolean): RouteAccess {
  const declared = constrained ? undefined : byRoute.get(`${method === 'HEAD' ? 'GET' : method} ${url}`);
  if (declared) {
    if (own.permission !== undefined && own.permission !== declared.permission) {
      throw new Error(`route ${method} ${url} says permission ${own.permission} but routeAccess.ts says ${declared.permission}`);
    }
    return declared;
  }
  if (own.permission === 'public') return { permission: 'public', tenancy: 'none' };
  if (own.permission !== undefined && own.tenancy !== undefined) return { permission: own.permission, tenancy: own.tenancy };
  throw new Error(`route ${method} ${url} has no permission and tenancy: declare them in src/security/routeAccess.ts`);
}
