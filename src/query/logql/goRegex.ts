/**
 * LogQL regexes are Go (RE2) syntax; ClickHouse runs them as written, the
 * engine runs them as JavaScript: `(?P<name>` and leading inline flags such
 * as `(?i)` are respelled.
 */
export function goRegex(pattern: string, options: { anchored: boolean }): RegExp {
  let source = pattern.replaceAll('(?P<', '(?<');
  const flags = /^\(\?([ims]+)\)/.exec(source);
  if (flags) source = source.slice(flags[0].length);
  if (options.anchored) source = `^(?:${source})$`;
  const jsFlags = [...new Set(flags?.[1] ?? '')].join('');
  return new RegExp(source, options.anchored && !jsFlags.includes('s') ? `${jsFlags}s` : jsFlags);
}
