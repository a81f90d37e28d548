import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../api/client';
import type { PageProps } from '../../shell/page';
import { useTimeZone } from '../../shell/preferences';
import { useSession } from '../../shell/session';
import { formatTime } from '../../shell/timeFormat';
import { AccessPanel, CoveragePanel, IntegrityPanel, RetentionPanel } from './DashboardPanels';
import { ReportGenerator } from './ReportGenerator';
import { StoredReports } from './StoredReports';
import type { DashboardResponse, Soc2Report } from '@api/reports';
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
  const zone = useTimeZone();
  const [dashboard, setDashboard] = useState<DashboardResponse | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  // Bumped by Refresh: the server then generates a new report instead of the one it keeps for a few minutes.
  const [refreshes, setRefreshes] = useState(0);
  const refreshed = useRef(0);

  useEffect(() => {
    const controller = new AbortController();
    const refresh = refreshes !== refreshed.current;
    refreshed.current = refreshes;
    setLoading(true);
    setError(undefined);
    api<DashboardResponse>('/api/v1/reports/soc2/dashboard', {
      query: { hours, tenant, refresh: refresh ? 'true' : undefined },
      signal: controller.signal,
    }).then(
      (answer) => {
        setDashboard(answer);
        setLoading(false);
      },
      (failure: Error) => {
        if (controller.signal.aborted) return;
        setError(failure.message);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [hours, tenant, refreshes]);
  const report = dashboard?.report;

  return (
    <div class="panels">
      <header>
        <h1>Compliance</h1>
        <label>
          Dashboard over the{' '}
          <select value={hours} onChange={(event) => setHours(Number(event.currentTarget.value))} aria-label="dashboard period">
            {periods.map((period) => (
              <option key={period.hours} value={period.hours}>
                {period.label}
              </option>
            ))}
          </select>
        </label>
        <span class="dim">{tenant ? `tenant ${tenant}` : 'every tenant'}</span>
        <span class="spacer" />
        {loading ? (
          <span class="dim">gathering evidence…</span>
        ) : (
          dashboard && (
            <span class="dim" aria-label="report generated at">
              generated at {formatTime(Date.parse(dashboard.generatedAt), zone)}
              {dashboard.cached ? ' (kept for a few minutes)' : ''}
            </span>
          )
        )}
        <button type="button" class="small" disabled={loading} onClick={() => setRefreshes((count) => count + 1)}>
          Refresh
        </button>
      </header>
      {error && <p class="error">{error}</p>}
      {report && (
        <div class="columns">
          <CoveragePanel report={report} />
          <IntegrityPanel report={report} />
          <RetentionPanel report={report} />
          <AccessPanel report={report} />
        </div>
      )}
      {report && <Summary report={report} />}
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
        Controls{' '}
        <span class="dim">
          {report.period.from.slice(0, 16).replace('T', ' ')} → {report.period.to.slice(0, 16).replace('T', ' ')} UTC
        </span>
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
