import { parseStoredTime, type ReportSection, type Soc2Report } from './reportModel.js';

/** Every value that reaches the page goes through here: service names, reasons and key names come from clients. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** JSON inside a script element: `<`, `>` and `&` as \u escapes so no value can close the element. */
function scriptSafeJson(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const maxRows = 500;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** 26861 → 26.2 KiB, shown beside the exact figure. */
function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Text, with tokens too long to wrap (hashes, keys, signed notes) allowed to break anywhere so tables keep their columns. */
function renderText(value: unknown): string {
  const text = escapeHtml(value);
  return /\S{28,}/.test(String(value)) ? `<span class="long">${text}</span>` : text;
}

function renderValue(value: unknown, key = ''): string {
  if (value === null || value === undefined) return '<span class="none">—</span>';
  if (Array.isArray(value)) {
    if (value.length === 0) return '<span class="none">none</span>';
    if (value.every(isRecord)) return renderTable(value);
    return renderText(value.map((item) => (isRecord(item) || Array.isArray(item) ? JSON.stringify(item) : String(item))).join(', '));
  }
  if (isRecord(value)) return renderFields(value);
  // The exact figure first, as in the JSON, so the printed PDF carries it too; the readable size beside it.
  if (typeof value === 'number' && /bytes/.test(key))
    return `${escapeHtml(value)} <span class="none">(${escapeHtml(humanBytes(value))})</span>`;
  return renderText(value);
}

function renderTable(rows: Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const shown = rows.slice(0, maxRows);
  const body = shown.map((row) => `<tr>${columns.map((column) => `<td>${renderValue(row[column], column)}</td>`).join('')}</tr>`).join('');
  const more = rows.length > shown.length ? `<p class="none">${rows.length - shown.length} more rows in the JSON evidence</p>` : '';
  return `<table><thead><tr>${columns.map((column) => `<th>${escapeHtml(column.replaceAll('_', ' '))}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>${more}`;
}

function renderFields(fields: Record<string, unknown>): string {
  const entries = Object.entries(fields);
  if (entries.length === 0) return '<span class="none">none</span>';
  // A list's label carries its length: the count an auditor checks against the JSON and CSV (`.count`).
  const label = (key: string, value: unknown) =>
    `${escapeHtml(key.replaceAll('_', ' '))}${Array.isArray(value) ? ` <span class="count">(${value.length})</span>` : ''}`;
  return `<dl>${entries.map(([key, value]) => `<dt>${label(key, value)}</dt><dd>${renderValue(value, key)}</dd>`).join('')}</dl>`;
}

/** Bars (CSS only, prints without scripts): one row per label, the last ones optionally marked as a forecast. */
function barChart(title: string, rows: { label: string; value: number; forecast?: boolean }[]): string {
  if (rows.length === 0) return '';
  const max = Math.max(1, ...rows.map((row) => row.value));
  const bars = rows
    .map(
      (row) =>
        `<div class="bar${row.forecast ? ' forecast' : ''}"><span class="label">${escapeHtml(row.label)}</span><span class="track"><span class="fill" style="width:${((row.value / max) * 100).toFixed(1)}%"></span></span><span class="count">${escapeHtml(row.value.toLocaleString('en-US'))}</span></div>`,
    )
    .join('');
  return `<figure class="chart"><figcaption>${escapeHtml(title)}</figcaption>${bars}</figure>`;
}

/** Records per day over every tenant (coverage). */
function volumeChart(section: ReportSection): string {
  const daily = section.data.volume_per_day as { day: string; records: number }[] | undefined;
  if (!daily) return '';
  const perDay = new Map<string, number>();
  for (const row of daily) perDay.set(row.day, (perDay.get(row.day) ?? 0) + Number(row.records));
  return barChart(
    'Records per day',
    [...perDay].map(([day, records]) => ({ label: day, value: records })),
  );
}

/** Ingest per day and the forecast rate (capacity). */
function ingestChart(section: ReportSection): string {
  const ingest = section.data.ingest as
    { records_per_day: { day: string; records: number }[]; forecast_records_per_day: number; forecast_for: string } | undefined;
  if (!ingest) return '';
  return barChart('Records ingested per day, and the forecast rate', [
    ...ingest.records_per_day.map((row) => ({ label: row.day, value: row.records })),
    { label: 'forecast', value: ingest.forecast_records_per_day, forecast: true },
  ]);
}

const hourMs = 3_600_000;
const maxServicesCharted = 60;
/** Longer periods are drawn a day per cell, the red part of a day's cell its share of silent hours. */
const maxHourCells = 14 * 24;

/**
 * Coverage: a strip per service over the period, a cell per hour (or per day
 * for long periods): logged, silent (a gap: every complete hour of the period
 * counts, before a service's first record too), or not judged (a partial
 * hour). Drawn from the section's own data (first and last record, gap
 * hours), so the picture is exactly the evidence.
 */
function coverageChart(section: ReportSection, report: Soc2Report): string {
  const services = section.data.services as { tenant: string; service: string; first_seen: string; last_seen: string }[] | undefined;
  if (!services || services.length === 0) return '';
  const gaps = new Map(
    (section.data.gaps as { tenant: string; service: string; hours: string[] }[]).map((gap) => [
      `${gap.tenant}\u0000${gap.service}`,
      new Set(gap.hours.map((hour) => Date.parse(hour))),
    ]),
  );
  const start = Math.floor(Date.parse(report.period.from) / hourMs) * hourMs;
  const end = Math.min(Date.parse(report.period.to), Date.parse(report.generated_at));
  const hours = Math.max(1, Math.ceil((end - start) / hourMs));
  const cellMs = hours > maxHourCells ? 24 * hourMs : hourMs;
  const first = Math.floor(start / cellMs) * cellMs;
  const cells = Math.ceil((end - first) / cellMs);
  const rows = services.slice(0, maxServicesCharted).map((service) => {
    const silent = gaps.get(`${service.tenant}\u0000${service.service}`) ?? new Set<number>();
    const firstHour = Math.floor(parseStoredTime(service.first_seen) / hourMs) * hourMs;
    const lastHour = Math.floor(parseStoredTime(service.last_seen) / hourMs) * hourMs;
    const strip: string[] = [];
    for (let i = 0; i < cells; i++) {
      const from = first + i * cellMs;
      let missing = 0;
      for (let hour = from; hour < from + cellMs; hour += hourMs) if (silent.has(hour)) missing++;
      // Neither logged nor a gap: a partial hour at either end of the period, not judged.
      const state = missing > 0 ? 'gap' : from + cellMs <= firstHour || from > lastHour ? 'idle' : 'logged';
      const when = new Date(from)
        .toISOString()
        .slice(0, cellMs === hourMs ? 13 : 10)
        .replace('T', ' ');
      const share =
        cellMs === hourMs || missing === 0
          ? ''
          : ` style="background:linear-gradient(to top,#cf222e ${Math.max(8, Math.round((missing / 24) * 100))}%,#2da44e 0)"`;
      const what =
        state === 'gap'
          ? `${missing} silent ${missing === 1 ? 'hour' : 'hours'}`
          : state === 'logged'
            ? 'logged'
            : from > lastHour
              ? 'not complete yet'
              : 'partial hour, not judged';
      strip.push(
        `<span class="cell ${state}"${share} title="${escapeHtml(`${when}${cellMs === hourMs ? ':00' : ''} UTC: ${what}`)}"></span>`,
      );
    }
    return `<div class="strip-row"><span class="label">${escapeHtml(service.tenant)} / ${escapeHtml(service.service)}</span><span class="strip">${strip.join('')}</span></div>`;
  });
  const more =
    services.length > maxServicesCharted
      ? `<p class="none">${services.length - maxServicesCharted} more services in the JSON evidence</p>`
      : '';
  const axis = `<div class="strip-row axis"><span class="label"></span><span class="strip-axis"><span>${escapeHtml(new Date(first).toISOString().slice(0, 16).replace('T', ' '))}</span><span>${escapeHtml(new Date(end).toISOString().slice(0, 16).replace('T', ' '))} UTC</span></span></div>`;
  const legend = `<p class="legend"><span class="cell logged"></span> logged <span class="cell gap"></span> silent when expected (gap) <span class="cell idle"></span> a partial hour, not judged — one cell per ${cellMs === hourMs ? 'hour' : 'day'}</p>`;
  return `<figure class="chart coverage"><figcaption>Coverage per service</figcaption>${rows.join('')}${axis}${legend}${more}</figure>`;
}

/** Where the section's figures come from: its inputs and every storage query it ran, with parameters. */
function provenanceBlock(section: ReportSection): string {
  const provenance = section.provenance;
  if (!provenance) return '';
  const inputs = provenance.inputs.map((input) => `<li>${escapeHtml(input)}</li>`).join('');
  const queries = provenance.queries
    .map(
      (query) =>
        `<li><code class="sql">${escapeHtml(query.sql)}</code>${Object.keys(query.params).length > 0 ? `<div class="params">parameters: ${renderText(JSON.stringify(query.params))}</div>` : ''}</li>`,
    )
    .join('');
  return `<details class="provenance" open><summary>Where these figures come from</summary>${inputs ? `<ul>${inputs}</ul>` : ''}${queries ? `<ol>${queries}</ol>` : ''}</details>`;
}

const statusBadge = (status: string) => `<span class="status ${escapeHtml(status)}">${escapeHtml(status)}</span>`;

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;max-width:1100px;margin:2em auto;padding:0 1em;-webkit-print-color-adjust:exact;print-color-adjust:exact}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
.meta{color:#57606a}.meta code{word-break:break-all}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}th,td{border:1px solid #d0d7de;padding:.25em .45em;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f6f8fa;hyphens:manual}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.3em 0}dt{font-weight:600;color:#57606a}dd{margin:0;min-width:0}
.long{word-break:break-all}
.status{display:inline-block;white-space:nowrap;padding:.05em .6em;border-radius:1em;font-weight:600;text-transform:uppercase;font-size:.8em}
.pass{background:#dafbe1;color:#116329}.attention{background:#fff8c5;color:#7d4e00}.fail{background:#ffebe9;color:#a40e26}
.none{color:#8c959f}.criteria{color:#57606a;font-size:.9em}.reason{font-weight:500}
figure.chart{margin:.8em 0 1em;padding:.6em .8em;border:1px solid #d0d7de;border-radius:6px;break-inside:avoid}
figure.chart figcaption{font-weight:600;margin-bottom:.4em}
.chart .bar{display:grid;grid-template-columns:8em 1fr 6em;align-items:center;gap:.5em;margin:.15em 0}
.chart .track{display:block;background:#f6f8fa;height:1em}.chart .fill{display:block;height:1em;background:#218bff;min-width:1px}
.chart .bar.forecast .fill{background:repeating-linear-gradient(45deg,#8c959f 0 4px,#d0d7de 4px 8px)}.chart .count{text-align:right;font-variant-numeric:tabular-nums}
.strip-row{display:grid;grid-template-columns:14em minmax(0,1fr);gap:.5em;align-items:center;margin:.15em 0}.strip-row .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.strip{display:flex;gap:1px;height:1em}.strip .cell{flex:1 1 0;width:auto;height:auto;min-width:0}
.cell{display:inline-block;width:.9em;height:.9em;vertical-align:middle}.cell.logged{background:#2da44e}.cell.gap{background:#cf222e}.cell.idle{background:#eaeef2}
.strip-axis{display:flex;justify-content:space-between;color:#57606a;font-size:.85em}.legend{color:#57606a;font-size:.85em;margin:.4em 0 0}
details.provenance{margin-top:.8em;color:#57606a;font-size:.85em}details.provenance summary{font-weight:600;cursor:pointer}
details.provenance ol,details.provenance ul{margin:.3em 0;padding-left:1.5em}code.sql{font-size:.92em;color:#1b1f24;word-break:break-word}.params{color:#57606a}
section{break-inside:avoid-page}
@page{margin:14mm}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}a{color:inherit}}
`;

/** Who signed the evidence and how an auditor checks it. */
function signatureLine(report: Soc2Report): string {
  if (!report.signature) return '';
  return `<br>Signed (Ed25519 over the canonical JSON evidence, embedded below) by <code class="long">${escapeHtml(report.signature.key)}</code>; check with <code>meshlog report verify FILE --public-key &lt;data_dir&gt;-signing.key.pub</code>.`;
}

/** A self-contained, printable HTML rendering of the report, carrying the SHA-256 of its JSON evidence and the evidence itself. */
export function renderHtmlReport(report: Soc2Report, json: string, sha256: string): string {
  const scope = report.tenant === null ? 'all tenants' : `tenant ${report.tenant}`;
  const summaryRows = report.summary
    .map(
      (item) =>
        `<tr><td><a href="#${escapeHtml(item.id)}">${escapeHtml(item.title)}</a></td><td class="criteria">${escapeHtml(item.criteria.join(', '))}</td><td>${statusBadge(item.status)}</td><td>${escapeHtml(item.reason)}</td></tr>`,
    )
    .join('');
  const sections = report.sections
    .map(
      (section) => `<section id="${escapeHtml(section.id)}" data-status="${escapeHtml(section.status)}">
<h2>${escapeHtml(section.title)} ${statusBadge(section.status)}</h2>
<p class="criteria">Trust Services Criteria: ${escapeHtml(section.criteria.join(', '))}</p>
<p class="reason">${escapeHtml(section.reason)}</p>
${volumeChart(section)}
${section.id === 'coverage' ? coverageChart(section, report) : ''}
${ingestChart(section)}
${renderFields(section.data)}
${provenanceBlock(section)}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>SOC 2 evidence report ${escapeHtml(report.period.from)} – ${escapeHtml(report.period.to)}</title>
<style>${css}</style></head>
<body>
<h1>SOC 2 evidence report</h1>
<p class="meta">Period <strong>${escapeHtml(report.period.from)}</strong> to <strong>${escapeHtml(report.period.to)}</strong>, ${escapeHtml(scope)}.<br>
Generated ${escapeHtml(report.generated_at)} by ${escapeHtml(report.generated_by.name)} (${escapeHtml(report.generated_by.id)}).<br>
SHA-256 of the JSON evidence: <code id="evidence-sha256">${escapeHtml(sha256)}</code><br>
Period evidence (${escapeHtml(report.period_evidence.sections.join(', '))}): <code id="period-evidence-sha256">${escapeHtml(report.period_evidence.sha256)}</code>${signatureLine(report)}</p>
<h2>Summary</h2>
<table class="summary"><thead><tr><th>Section</th><th>Criteria</th><th>Status</th><th>Reason</th></tr></thead><tbody>${summaryRows}</tbody></table>
${sections}
<script type="application/json" id="evidence">${scriptSafeJson(json)}</script>
</body></html>
`;
}
