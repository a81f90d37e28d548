import { useEffect, useState } from 'preact/hooks';
import type { TenantChoicesResponse } from '@api/tenants';
import { api } from '../api/client';
import { useQueryState } from './router';
import { tenantParam } from './tenant';

/**
 * Which tenant's data every page shows, for a credential holding several (or
 * `*`). A list is offered as a select; with `*` any tenant can be typed, and
 * the registered ones are suggested. The choice lives in the URL.
 */
export function TenantPicker({ tenants }: { tenants: string[] }) {
  const [params, setParams] = useQueryState();
  const any = tenants.includes('*');
  const chosen = params.get(tenantParam) ?? (any ? 'default' : tenants[0]);
  const [draft, setDraft] = useState(chosen);
  const [known, setKnown] = useState<string[]>(any ? ['default'] : tenants);

  useEffect(() => setDraft(chosen), [chosen]);
  useEffect(() => {
    if (!any) return;
    api<TenantChoicesResponse>('/api/v1/tenants').then(
      (answer) => setKnown(answer.tenants),
      () => undefined,
    );
  }, [any]);

  const choose = (tenant: string) => {
    const trimmed = tenant.trim();
    if (trimmed && trimmed !== chosen) setParams({ [tenantParam]: trimmed }, { push: true });
  };

  if (!any) {
    return (
      <label class="tenant-picker">
        tenant
        <select value={chosen} onChange={(event) => choose(event.currentTarget.value)}>
          {tenants.map((tenant) => (
            <option key={tenant} value={tenant}>
              {tenant}
            </option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <form
      class="tenant-picker"
      onSubmit={(event) => {
        event.preventDefault();
        choose(draft);
      }}
    >
      <label>
        tenant
        <input
          list="known-tenants"
          value={draft}
          size={12}
          onInput={(event) => setDraft(event.currentTarget.value)}
          onChange={(event) => choose(event.currentTarget.value)}
        />
      </label>
      <datalist id="known-tenants">
        {known.map((tenant) => (
          <option key={tenant} value={tenant} />
        ))}
      </datalist>
    </form>
  );
}
