import type { Permission } from './identity.js';

/**
 * The permission each HTTP route needs, decided once when the route is
 * registered. Deny by default: a route no rule names needs `admin`.
 * A route can state its own with `config.permission`.
 */
const rules: [RegExp, Permission | 'public'][] = [
  [/^\/ready$/, 'public'],
  [/^\/services\/collector\/health(\/1\.0)?$/, 'public'],
  // Every shipper protocol's write path, and the Elasticsearch handshake shippers make first.
  [/^\/(v1\/(logs|traces)|otlp\/v1\/logs|loki\/api\/v1\/push|api\/v2\/(logs|spans)|services\/collector.*)$/, 'ingest'],
  [/^\/(:index\/)?_bulk$/, 'ingest'],
  [/^\/(_.*)?$/, 'ingest'],
  [/^\/(loki|prometheus)\/api\/v1\//, 'query'],
  [/^\/api\/v1\/(tail|query|alerts|patterns|saved-queries)/, 'query'],
  [/^\/api\/v1\/(integrity|audit|reports)/, 'audit'],
  [/^\/metrics$/, 'audit'],
];

export function permissionForRoute(url: string): Permission | 'public' {
  return rules.find(([pattern]) => pattern.test(url))?.[1] ?? 'admin';
}
