/**
 * The part of Prometheus' annotation templates that rules use most:
 * `{{ $labels.name }}`, `{{ $value }}` and `{{ $externalLabels... }}`-free
 * text. Anything else between braces is left as written, so a mistake shows
 * in the alert instead of silently vanishing.
 */
const placeholder = /\{\{\s*(?:\$labels\.([A-Za-z_][A-Za-z0-9_]*)|\$value|humanize\s+\$value)\s*\}\}/g;

export function expandTemplate(template: string, labels: Record<string, string>, value: number): string {
  return template.replace(placeholder, (whole: string, label: string | undefined) => {
    if (label !== undefined) return labels[label] ?? '';
    if (whole.includes('humanize')) return humanize(value);
    return String(value);
  });
}

function humanize(value: number): string {
  const abs = Math.abs(value);
  for (const [size, suffix] of [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (abs >= size) return `${Number((value / size).toFixed(4))}${suffix}`;
  }
  return String(Number(value.toFixed(4)));
}
