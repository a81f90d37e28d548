import type { ReportSection, Soc2Report } from './reportModel.js';

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

function renderValue(value: unknown): string {
  if (value === null || value === undefined) return '<span class="none">—</span>';
  if (Array.isArray(value)) {
    if (value.length === 0) return '<span class="none">none</span>';
    if (value.every(isRecord)) return renderTable(value);
    return escapeHtml(value.map((item) => (isRecord(item) || Array.isArray(item) ? JSON.stringify(item) : String(item))).join(', '));
  }
  if (isRecord(value)) return renderFields(value);
  return escapeHtml(value);
}

function renderTable(rows: Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const shown = rows.slice(0, maxRows);
  const body = shown.map((row) => `<tr>${columns.map((column) => `<td>${renderValue(row[column])}</td>`).join('')}</tr>`).join('');
  const more = rows.length > shown.length ? `<p class="none">${rows.length - shown.length} more rows in the JSON evidence</p>` : '';
  return `<table><thead><tr>${columns.map((column) => `<th>${escapeHtml(column.replaceAll('_', ' '))}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>${more}`;
}

function renderFields(fields: Record<string, unknown>): string {
  const entries = Object.entries(fields);
  if (entries.length === 0) return '<span class="none">none</span>';
  return `<dl>${entries.map(([key, value]) => `<dt>${escapeHtml(key.replaceAll('_', ' '))}</dt><dd>${renderValue(value)}</dd>`).join('')}</dl>`;
}

/** Records per day as bars (CSS only, prints without scripts). */
function volumeChart(section: ReportSection): string {
  const daily = section.data.volume_per_day as { day: string; records: number }[] | undefined;
  if (!daily || daily.length === 0) return '';
  const perDay = new Map<string, number>();
  for (const row of daily) perDay.set(row.day, (perDay.get(row.day) ?? 0) + Number(row.records));
  const max = Math.max(...perDay.values());
  const bars = [...perDay]
    .map(([day, records]) => `<div class="bar"><span class="day">${escapeHtml(day)}</span><span class="fill" style="width:${((records / max) * 100).toFixed(1)}%"></span><span class="count">${escapeHtml(records)}</span></div>`)
    .join('');
  return `<h3>Records per day</h3><div class="chart">${bars}</div>`;
}

const statusBadge = (status: string) => `<span class="status ${escapeHtml(status)}">${escapeHtml(status)}</span>`;

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;max-width:1100px;margin:2em auto;padding:0 1em}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
.meta{color:#57606a}.meta code{word-break:break-all}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}th,td{border:1px solid #d0d7de;padding:.25em .45em;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f6f8fa}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.3em 0}dt{font-weight:600;color:#57606a}dd{margin:0}
.status{display:inline-block;white-space:nowrap;padding:.05em .6em;border-radius:1em;font-weight:600;text-transform:uppercase;font-size:.8em}
.pass{background:#dafbe1;color:#116329}.attention{background:#fff8c5;color:#7d4e00}.fail{background:#ffebe9;color:#a40e26}
.none{color:#8c959f}.criteria{color:#57606a;font-size:.9em}.reason{font-weight:500}
.chart .bar{display:grid;grid-template-columns:7em 1fr 6em;align-items:center;gap:.5em;margin:.1em 0}.chart .fill{display:block;height:.9em;background:#54aeff;min-width:1px}
section{break-inside:avoid-page}
@page{margin:14mm}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}a{color:inherit}}
`;

/** A self-contained, printable HTML rendering of the report, carrying the SHA-256 of its JSON evidence and the evidence itself. */
export function renderHtmlReport(report: Soc2Report, json: string, sha256: string): string {
  const scope = report.tenant === null ? 'all tenants' : `tenant ${report.tenant}`;
  const summaryRows = report.summary
    .map((item) => `<tr><td><a href="#${escapeHtml(item.id)}">${escapeHtml(item.title)}</a></td><td class="criteria">${escapeHtml(item.criteria.join(', '))}</td><td>${statusBadge(item.status)}</td><td>${escapeHtml(item.reason)}</td></tr>`)
    .join('');
  const sections = report.sections
    .map(
      (section) => `<section id="${escapeHtml(section.id)}" data-status="${escapeHtml(section.status)}">
<h2>${escapeHtml(section.title)} ${statusBadge(section.status)}</h2>
<p class="criteria">Trust Services Criteria: ${escapeHtml(section.criteria.join(', '))}</p>
<p class="reason">${escapeHtml(section.reason)}</p>
${volumeChart(section)}
${renderFields(section.data)}
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
SHA-256 of the JSON evidence: <code id="evidence-sha256">${escapeHtml(sha256)}</code></p>
<h2>Summary</h2>
<table class="summary"><thead><tr><th>Section</th><th>Criteria</th><th>Status</th><th>Reason</th></tr></thead><tbody>${summaryRows}</tbody></table>
${sections}
<script type="application/json" id="evidence">${scriptSafeJson(json)}</script>
</body></html>
`;
}
