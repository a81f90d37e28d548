import assert from 'node:assert/strict';
import type { Soc2Report } from '../../src/compliance/reportModel.js';

/** One figure of a section as a reader sees it: the label the renderer prints and the number beside it. */
export interface ReportFigure {
  section: string;
  /** Where it is in the section's data, as the CSV names it (`restore_tests.total`, `gaps.count`). */
  path: string;
  /** How many objects down: 1 for a field of the section's data itself. */
  depth: number;
  value: number;
  shown: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every count of every section, derived from the JSON evidence alone, in the
 * order the sections print their fields: each number under its label (`alerts
 * acknowledged 0`), each list's length beside its label (`alert transitions
 * (3)`), nested objects walked; table cells stay in their tables.
 */
export function reportFigures(report: Soc2Report): ReportFigure[] {
  const walk = (section: string, data: Record<string, unknown>, prefix: string, depth: number): ReportFigure[] =>
    Object.entries(data).flatMap(([key, value]) => {
      const label = key.replaceAll('_', ' ');
      const path = `${prefix}${key}`;
      if (typeof value === 'number') return [{ section, path, depth, value, shown: `${label} ${value}` }];
      if (Array.isArray(value))
        return [{ section, path: `${path}.count`, depth, value: value.length, shown: `${label} (${value.length})` }];
      return isRecord(value) ? walk(section, value, `${path}.`, depth + 1) : [];
    });
  return report.sections.flatMap((section) => walk(section.id, section.data, '', 1));
}

/** The text a reader of the HTML sees: the embedded JSON evidence removed (it would match anything), tags to spaces, entities decoded. */
export function htmlVisibleText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Asserts, section by section, that a rendering's visible text (HTML made
 * visible, or pdftotext's output) shows the section's status and reason and
 * every figure of the JSON beside its label, in order: a number missing,
 * different or under another label fails, naming the section and the path.
 */
export function assertFiguresShown(report: Soc2Report, text: string, format: string): void {
  const flat = text.replace(/\s+/g, ' ');
  const figures = reportFigures(report);
  // Each section from its heading (title, status badge, criteria line) to the next one's.
  const starts = report.sections.map((section) => {
    const heading = new RegExp(
      `${escapeRegExp(section.title).replace(/ /g, '\\s*')}\\s*${section.status}\\s*Trust Services Criteria:`,
      'i',
    );
    const found = heading.exec(flat);
    assert.ok(found, `${format}: the section ${section.id} has its heading with status ${section.status}`);
    return found.index;
  });
  report.sections.forEach((section, index) => {
    const body = flat.slice(starts[index], starts[index + 1] ?? flat.length);
    assert.ok(
      body.replace(/\s+/g, '').includes(section.reason.replace(/\s+/g, '')),
      `${format}: ${section.id} shows its reason: ${section.reason}`,
    );
    let cursor = 0;
    for (const figure of figures.filter((candidate) => candidate.section === section.id)) {
      let at = body.indexOf(figure.shown, cursor);
      // `count 1` must not match `count 12`.
      while (at >= 0 && /[0-9.]/.test(body[at + figure.shown.length] ?? '')) at = body.indexOf(figure.shown, at + 1);
      assert.ok(at >= 0, `${format}: ${section.id}.${figure.path} is shown as "${figure.shown}" after the figures before it`);
      cursor = at + figure.shown.length;
    }
  });
}
