import { apiUrl } from '../../api/client';
import { useTimeZone } from '../../shell/preferences';
import { formatTime } from '../../shell/timeFormat';
import { storedTimeMs } from '../panels/auditTime';
import { useApi } from '../panels/useApi';
import type { StoredReportsResponse } from '@api/reports';

/** The reports the monthly schedule stored, each downloadable signed: every format in one bundle, or the JSON signed inside. */
export function StoredReports() {
  const zone = useTimeZone();
  const stored = useApi<StoredReportsResponse>('/api/v1/reports');
  return (
    <section class="panel" aria-label="stored reports">
      <h2>Stored reports</h2>
      {stored.error && <p class="error">{stored.error}</p>}
      {stored.data && stored.data.reports.length === 0 && (
        <p class="empty">No stored reports yet: the monthly schedule stores one for each month that ends.</p>
      )}
      {stored.data && stored.data.reports.length > 0 && (
        <table class="grid" aria-label="stored reports">
          <thead>
            <tr>
              <th>Period</th>
              <th>Generated</th>
              <th>Controls</th>
              <th>Download</th>
            </tr>
          </thead>
          <tbody>
            {stored.data.reports.map((report) => (
              <tr key={report.id}>
                <td>
                  {report.period_from.slice(0, 10)} → {report.period_to.slice(0, 10)}
                </td>
                <td>
                  {formatTime(storedTimeMs(report.generated_at), zone, false)} <span class="dim">{report.generated_by}</span>
                </td>
                <td>
                  {report.summary.filter((section) => section.status === 'pass').length}/{report.summary.length} pass
                </td>
                <td>
                  {[
                    { format: 'bundle', extension: 'zip', label: 'Signed bundle (.zip)' },
                    { format: 'json', extension: 'json', label: 'JSON' },
                  ].map(({ format, extension, label }) => (
                    <a
                      key={format}
                      href={apiUrl(`/api/v1/reports/${encodeURIComponent(report.id)}`, { format })}
                      download={`meshlog-soc2-${report.period_from.slice(0, 10)}.${extension}`}
                      style={{ marginRight: '8px' }}
                    >
                      {label}
                    </a>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
