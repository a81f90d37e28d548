import { useEffect } from 'preact/hooks';
import type { PageProps } from '../../shell/page';
import { useSession } from '../../shell/session';
import { useApi } from '../panels/useApi';
import { AnomalyList } from './AnomalyList';
import { FiringAlerts } from './FiringAlerts';
import type { AlertHistoryResponse, AlertsResponse, RulesResponse } from '@api/alerts';
import { RulesPanel } from './RulesPanel';
import { SilencePanel } from './SilencePanel';
import { TransitionTable } from './TransitionTable';
import '../panels/panels.css';

const refreshMs = 5000;

/** Alerts: rules and their state, the alerts and anomalies of the last day, state history, and silences (admins). */
export function AlertsPage(_props: PageProps) {
  const { can } = useSession();
  const rules = useApi<RulesResponse>('/prometheus/api/v1/rules');
  const latest = useApi<AlertsResponse>('/api/v1/alerts');
  const history = useApi<AlertHistoryResponse>('/api/v1/alerts', { history: 'true' });

  // Rule states change on every evaluation: keep the page current without a reload.
  useEffect(() => {
    const timer = setInterval(() => {
      rules.reload();
      latest.reload();
      history.reload();
    }, refreshMs);
    return () => clearInterval(timer);
  }, []);

  const anomalies = latest.data?.alerts.filter((alert) => alert.namespace === 'anomaly');
  return (
    <div class="panels">
      <header>
        <h1>Alerts</h1>
        <span class="dim">rules are evaluated by the server; this page refreshes every {refreshMs / 1000} s</span>
      </header>
      <section class="panel" aria-label="firing">
        <h2>Firing now</h2>
        {latest.error ? <p class="error">{latest.error}</p> : <FiringAlerts alerts={latest.data?.alerts} onChange={latest.reload} />}
      </section>
      <RulesPanel rules={rules} />
      <section class="panel" aria-label="anomalies">
        <h2>Anomalies (last 24 h)</h2>
        {latest.error ? <p class="error">{latest.error}</p> : <AnomalyList anomalies={anomalies} />}
      </section>
      <section class="panel" aria-label="history">
        <h2>State history</h2>
        {history.error ? <p class="error">{history.error}</p> : <TransitionTable transitions={history.data?.transitions} />}
      </section>
      {can('admin') && <SilencePanel />}
    </div>
  );
}
