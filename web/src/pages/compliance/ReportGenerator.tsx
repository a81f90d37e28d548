import { useState } from 'preact/hooks';
import { apiUrl } from '../../api/client';

/**
 * Only signed downloads: a browser drops the signature headers of a single
 * HTML or PDF file, so those come in the bundle beside their signatures.
 */
const formats = [
  { value: 'bundle', label: 'Signed bundle: PDF, HTML, CSV and JSON (.zip)', extension: 'zip' },
  { value: 'json', label: 'JSON (signed evidence)', extension: 'json' },
];

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * A SOC 2 report over whole UTC days, downloaded as a file. The link is a
 * plain GET with the session cookie; the server audits each generation.
 */
export function ReportGenerator({ tenant }: { tenant: string | undefined }) {
  const [from, setFrom] = useState(day(Date.now() - 30 * 86_400_000));
  const [to, setTo] = useState(day(Date.now()));
  const [format, setFormat] = useState('bundle');
  const valid = from !== '' && to !== '' && from <= to;
  // The last day ends at its midnight, or now when it is today.
  const toTime = to >= day(Date.now()) ? new Date().toISOString() : `${to}T23:59:59.999Z`;
  const href = apiUrl('/api/v1/reports/soc2', { from: `${from}T00:00:00Z`, to: toTime, tenant, format });
  return (
    <section class="panel" aria-label="generate a report">
      <h2>Generate a SOC 2 report</h2>
      <form class="inline" onSubmit={(event) => event.preventDefault()}>
        <label>
          From (UTC day)
          <input type="date" value={from} max={to} onInput={(event) => setFrom(event.currentTarget.value)} aria-label="report from" />
        </label>
        <label>
          To (UTC day)
          <input type="date" value={to} min={from} onInput={(event) => setTo(event.currentTarget.value)} aria-label="report to" />
        </label>
        <label>
          Format
          <select value={format} onChange={(event) => setFormat(event.currentTarget.value)} aria-label="report format">
            {formats.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        {valid ? (
          <a
            class="button primary"
            href={href}
            download={`meshlog-soc2-${from}-to-${to}.${formats.find((option) => option.value === format)!.extension}`}
          >
            Download report
          </a>
        ) : (
          <span class="error">the first day must not be after the last</span>
        )}
      </form>
      <p class="dim">
        Each report is generated from the stored evidence when downloaded, signed by the server, and recorded in the audit trail. Every file
        of a bundle comes from one generation and carries one evidence hash; check it offline with{' '}
        <code>meshlog report verify FILE.zip --public-key &lt;data_dir&gt;-signing.key.pub</code>.
      </p>
    </section>
  );
}
