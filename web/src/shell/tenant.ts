/**
 * The tenant the UI reads and writes, kept in the URL (`tenant=`) so a shared
 * link shows the same tenant's data. Absent, the server picks the
 * credential's first tenant (`default` for `*`). Every API call sends it as
 * Loki's X-Scope-OrgID; the server refuses a tenant the credential lacks.
 */
export const tenantParam = 'tenant';

export function currentTenant(): string | undefined {
  return new URLSearchParams(location.search).get(tenantParam) || undefined;
}

/** The tenant the server acts on: the chosen one, else the credential's first (`default` for `*`), as the server decides. */
export function effectiveTenant(held: string[]): string {
  return currentTenant() ?? (held.includes('*') ? 'default' : (held[0] ?? 'default'));
}

/** An in-app href that keeps the chosen tenant unless it names one itself. */
export function withTenant(href: string): string {
  const tenant = currentTenant();
  if (!tenant || !href.startsWith('/ui')) return href;
  const url = new URL(href, location.origin);
  if (url.searchParams.has(tenantParam)) return href;
  url.searchParams.set(tenantParam, tenant);
  return url.pathname + url.search + url.hash;
}

/** Whether a credential's tenants leave a choice (`*`, or more than one). */
export const choosesTenant = (tenants: string[]) => tenants.includes('*') || tenants.length > 1;

/** Query parameters for a link the browser follows itself (a download, a WebSocket): it cannot send the header. */
export function tenantQuery(): Record<string, string> {
  const tenant = currentTenant();
  return tenant ? { 'X-Scope-OrgID': tenant } : {};
}
