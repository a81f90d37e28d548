import type { PageProps } from '../../shell/page';
import { AuditTrailPanel } from '../admin/AuditTrailPanel';
import '../panels/panels.css';

/** The audit trail on its own page, for auditors (the Admin page's tab is for admins): who did what, when, with what outcome. */
export function AuditPage(_props: PageProps) {
  return (
    <div class="panels">
      <header>
        <h1>Audit trail</h1>
        <span class="dim">every login, query, export and change, with its outcome; the server shows only your tenants' events</span>
      </header>
      <AuditTrailPanel />
    </div>
  );
}
