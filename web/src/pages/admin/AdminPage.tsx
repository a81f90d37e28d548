import type { PageProps } from '../../shell/page';
import { useQueryState } from '../../shell/router';
import { AuditTrailPanel } from './AuditTrailPanel';
import { ErasurePanel } from './ErasurePanel';
import { KeysPanel } from './KeysPanel';
import { RedactionPanel } from './RedactionPanel';
import { RetentionAdminPanel } from './RetentionAdminPanel';
import { TenantsPanel } from './TenantsPanel';
import { UsersPanel } from './UsersPanel';
import '../panels/panels.css';

const tabs = [
  { id: 'keys', title: 'API keys', component: KeysPanel },
  { id: 'users', title: 'Users', component: UsersPanel },
  { id: 'tenants', title: 'Tenants', component: TenantsPanel },
  { id: 'redaction', title: 'Redaction', component: RedactionPanel },
  { id: 'retention', title: 'Retention and legal holds', component: RetentionAdminPanel },
  { id: 'erasure', title: 'Erasure requests', component: ErasurePanel },
  { id: 'audit', title: 'Audit trail', component: AuditTrailPanel },
];

/** Administration (admins only; the server refuses every call to anyone else): keys, users, tenants, redaction rules, retention, holds, erasure requests, the audit trail. */
export function AdminPage(_props: PageProps) {
  const [params, setParams] = useQueryState();
  const current = tabs.find((tab) => tab.id === params.get('tab')) ?? tabs[0];
  const Panel = current.component;
  // WAI-ARIA tabs: arrow keys move between tabs, Tab moves into the panel.
  const onKeyDown = (event: KeyboardEvent) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    const next = tabs[(tabs.indexOf(current) + step + tabs.length) % tabs.length];
    setParams({ tab: next.id }, { push: true });
    requestAnimationFrame(() => document.getElementById(`tab-${next.id}`)?.focus());
  };
  return (
    <div class="panels">
      <header>
        <h1>Admin</h1>
      </header>
      <div class="tabs" role="tablist" onKeyDown={onKeyDown}>
        {tabs.map((tab) => (
          <button
            key={tab.id}
            id={`tab-${tab.id}`}
            type="button"
            role="tab"
            aria-selected={tab.id === current.id}
            tabIndex={tab.id === current.id ? 0 : -1}
            onClick={() => setParams({ tab: tab.id }, { push: true })}
          >
            {tab.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={current.title}>
        <Panel />
      </div>
    </div>
  );
}
