import { useState } from 'preact/hooks';
import type { PageProps } from '../../shell/page';
import { useSession } from '../../shell/session';
import { useApi } from '../panels/useApi';
import { AccessPanel, CoveragePanel, IntegrityPanel, RetentionPanel } from './DashboardPanels';
import { ReportGenerator } from './ReportGenerator';
import { StoredReports } from './StoredReports';
import type { Soc2Report } from './reportTypes';
import '../panels/panels.css';

const periods = [
  { label: 'last 24 hours', hours: 24 },
  { label: 'last 7 days', hours: 24 * 7 },
  { label: 'last 30 days', hours: 24 * 30 },
];

/**
 * The SOC 2 dashboard: the report's evidence for a recent period drawn as
 * panels (coverage, integrity, retention, access), report generation and
 * download, and the monthly reports the server stored.
 */
export function CompliancePage(_props: PageProps) {
  const { identity } = useSession();
  const allTenants = identity.tenants.includes('*');
  // A credential for some tenants gets its first tenant's report; only "*" may see every tenant's.
  const tenant = allTenants ? undefined : identity.tenants[0];
  const [hours, setHours] = useState(24);
  // Fixed when the period is chosen, so reloads show the same evidence.
  const [from, setFrom] = useState(() => new Date(Date.now() - hours * 3_600_000).toISOString());
  const report = useApi<Soc2Report>('/api/v1/reports/soc2', { from, tenant, format: 'json' });

  const choose = (value: number) => {
    setHours(value);
    setFrom(new Date(Date.now() - value * 3_600_000).toISOString());
  };

  return (
    <div class="panels">
      <header>
        <h1>Compliance</h1>
        <label>
          Dashboard over the{' '}
          <select value={hours} onChange={(event) => choose(Number(event.currentTarget.value))} aria-label="dashboard period">
            {periods.map((period) => (
              <option key={period.hours} value={period.hours}>
                {period.label}
              </option>
            ))}
          </select>
        </label>
        <span class="dim">{tenant ? `tenant ${tenant}` : 'every tenant'}</span>
        {report.loading && <span class="dim">gathering evidence…</span>}
      </header>
      {report.error && <p class="error">{report.error}</p>}
      {report.data && (
        <div class="columns">
          <CoveragePanel report={report.data} />
          <IntegrityPanel report={report.data} />
          <RetentionPanel report={report.data} />
          <AccessPanel report={report.data} />
        </div>
      )}
      {report.data && <Summary report={report.data} />}
      <div class="columns">
        <ReportGenerator tenant={tenant} />
        {allTenants && <StoredReports />}
      </div>
    </div>
  );
}

function Summary({ report }: { report: Soc2Report }) {
  return (
    <section class="panel" aria-label="controls">
      <h2>
        Controls <span class="dim">{report.period.from.slice(0, 16).replace('T', ' ')} → {report.period.to.slice(0, 16).replace('T', ' ')} UTC</span>
      </h2>
      <table class="grid" aria-label="control summary">
        <tbody>
          {report.summary.map((section) => (
            <tr key={section.id}>
              <td>
                <span class={`state ${section.status}`}>{section.status}</span>
              </td>
              <td>
                <strong>{section.title}</strong> <span class="dim">{section.criteria.join(', ')}</span>
              </td>
              <td>{section.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
