import { storedTimeMs } from '../panels/auditTime';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import type { AccessSectionData, CoverageSectionData, IntegritySectionData, RetentionSectionData, Soc2Report } from '@api/reports';

type Props = { report: Soc2Report };

function sectionData<T>(report: Soc2Report, id: string): T | undefined {
  return report.sections.find((section) => section.id === id)?.data as T | undefined;
}

function StatusOf({ report, id }: Props & { id: string }) {
  const status = report.summary.find((section) => section.id === id)?.status;
  return status ? <span class={`state ${status}`}>{status}</span> : null;
}

function Figure({ value, label }: { value: string | number; label: string }) {
  return (
    <span class="figure">
      <strong>{typeof value === 'number' ? value.toLocaleString('en') : value}</strong>
      <span>{label}</span>
    </span>
  );
}

/** Coverage map: which services logged how much, from which platforms and receivers, and the silent hours. */
export function CoveragePanel({ report }: Props) {
  const data = sectionData<CoverageSectionData>(report, 'coverage');
  if (!data) return null;
  const most = Math.max(1, ...data.services.map((service) => service.records));
  return (
    <section class="panel" aria-label="coverage">
      <h2>
        Coverage by service and platform <StatusOf report={report} id="coverage" />
      </h2>
      <p>
        <Figure value={data.services.length} label="services" />
        <Figure value={data.total_records} label="records" />
        <Figure value={data.gaps.length} label="silent hours" />
      </p>
      <table class="grid" aria-label="coverage by service">
        <thead>
          <tr>
            <th>Service</th>
            <th>Platform</th>
            <th>Receivers</th>
            <th>Records</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.services.map((service) => (
            <tr key={`${service.tenant}/${service.service}`}>
              <td>
                {service.service} <span class="dim">{service.tenant}</span>
              </td>
              <td>{[...service.platforms, ...service.clusters, ...service.meshes].join(', ') || <span class="dim">unknown</span>}</td>
              <td>{service.receivers.join(', ')}</td>
              <td>{service.records.toLocaleString('en')}</td>
              <td>
                <div class="bar-track" aria-hidden="true">
                  <i style={{ width: `${(service.records / most) * 100}%` }} />
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.services.length === 0 && <p class="empty">Nothing was logged in the period.</p>}
    </section>
  );
}

/** Integrity: the last verification over the period and the head of every hash chain. */
export function IntegrityPanel({ report }: Props) {
  const zone = useTimeZone();
  const data = sectionData<IntegritySectionData>(report, 'integrity');
  if (!data) return null;
  const verification = data.verification;
  return (
    <section class="panel" aria-label="integrity">
      <h2>
        Integrity <StatusOf report={report} id="integrity" />
      </h2>
      {!data.sealing && <p class="error">Sealing is off: records are not hash-chained.</p>}
      {verification && (
        <p>
          <Figure
            value={verification.ok ? 'verified' : 'FAILED'}
            label={`at ${formatTime(Date.parse(report.generated_at), zone, false)}`}
          />
          <Figure value={verification.batches} label="batches" />
          <Figure value={verification.records} label="records" />
          <Figure value={verification.checkpoints} label="signed checkpoints" />
          <Figure value={verification.findings_total} label="findings" />
        </p>
      )}
      <table class="grid" aria-label="chain heads">
        <thead>
          <tr>
            <th>Chain</th>
            <th>Head</th>
            <th>Last commit</th>
            <th>Checkpoint</th>
          </tr>
        </thead>
        <tbody>
          {(data.chains ?? []).map((chain) => (
            <tr key={chain.chain}>
              <td class="mono wrap">{chain.chain}</td>
              <td class="mono nowrap" title={chain.head_hash}>
                #{chain.head_batch_seq} {chain.head_hash.slice(0, 8)}…
              </td>
              <td>{formatTime(storedTimeMs(chain.last_commit), zone, false)}</td>
              <td>
                {chain.latest_checkpoint ? (
                  `size ${chain.latest_checkpoint.tree_size}, ${formatTime(storedTimeMs(chain.latest_checkpoint.created_at), zone, false)}`
                ) : (
                  <span class="dim">none yet</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Retention and disposal: policies in force, legal holds, what was disposed and anything kept too long. */
export function RetentionPanel({ report }: Props) {
  const data = sectionData<RetentionSectionData>(report, 'retention');
  if (!data) return null;
  const disposed = data.disposal_runs.reduce((sum, run) => sum + Number(run.records ?? 0), 0);
  const overdue = data.kept_past_policy.reduce((sum, row) => sum + Number(row.records), 0);
  return (
    <section class="panel" aria-label="retention">
      <h2>
        Retention and disposal <StatusOf report={report} id="retention" />
      </h2>
      <p>
        <Figure value={data.disposal_runs.length} label="disposal runs" />
        <Figure value={disposed} label="records disposed" />
        <Figure value={overdue} label="kept past policy" />
        <Figure value={data.legal_holds.length} label="legal holds" />
        <Figure value={data.erasure_requests.length} label="erasure requests" />
        <Figure value={data.erasure_requests.filter((request) => request.on_time === false).length} label="erasures late" />
      </p>
      {data.policies_in_force.length > 1 && (
        <p class="dim">
          {data.policies_in_force.length} configurations were in force in the period; the table shows the last one (every one is in the
          report).
        </p>
      )}
      <table class="grid" aria-label="policies in force">
        <thead>
          <tr>
            <th>Policy</th>
            <th>Applies to</th>
            <th>Keeps</th>
          </tr>
        </thead>
        <tbody>
          {(data.policies_in_force.at(-1)?.policies ?? []).map((policy) => (
            <tr key={policy.policy}>
              <td>{policy.policy}</td>
              <td>{policy.applies_to}</td>
              <td>{policy.max_age}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.legal_holds.map((hold) => (
        <p key={hold.id}>
          Hold <strong>{hold.name}</strong> on {hold.tenant} / {hold.service}, {hold.covers}: {hold.reason}
        </p>
      ))}
    </section>
  );
}

/** Access review: the keys with their roles and tenants at the end of the period, grants, revocations, refusals. */
export function AccessPanel({ report }: Props) {
  const zone = useTimeZone();
  const data = sectionData<AccessSectionData>(report, 'access');
  if (!data) return null;
  return (
    <section class="panel" aria-label="access review">
      <h2>
        Access review <StatusOf report={report} id="access" />
      </h2>
      <p>
        <Figure value={data.grants.length} label="keys granted" />
        <Figure value={data.revocations.length} label="revoked" />
        <Figure value={data.unused_keys.keys.length} label="unused 90 days" />
        <Figure value={data.failed_logins.total} label="failed logins" />
        <Figure value={data.denied_requests.total} label="refused requests" />
      </p>
      <table class="grid" aria-label="keys at period end">
        <thead>
          <tr>
            <th>Key</th>
            <th>Roles</th>
            <th>Tenants</th>
            <th>State</th>
            <th>Last used</th>
          </tr>
        </thead>
        <tbody>
          {data.keys_as_of_period_end.map((key) => (
            <tr key={key.id}>
              <td>
                {key.name} <span class="dim mono">{key.id}</span>
              </td>
              <td>{key.roles.join(', ')}</td>
              <td>{key.tenants.join(', ')}</td>
              <td>
                <span class={`state ${key.state_at_period_end}`}>{key.state_at_period_end}</span>
              </td>
              <td>{key.last_used_at ? formatTime(Date.parse(key.last_used_at), zone, false) : <span class="dim">never</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.keys_as_of_period_end.length === 0 && <p class="empty">No API keys (only the bootstrap admin token).</p>}
    </section>
  );
}
