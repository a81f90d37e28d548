/**
 * LogQL regexes are Go (RE2) syntax; ClickHouse runs them as written, the
 * engine runs them as JavaScript: `(?P<name>` and leading inline flags such
 * as `(?i)` are respelled.
 */
export function goRegex(pattern: string, options: { anchored: boolean; global?: boolean }): RegExp {
  let source = pattern.replaceAll('(?P<', '(?<');
  const flags = /^\(\?([ims]+)\)/.exec(source);
  if (flags) source = source.slice(flags[0].length);
  if (options.anchored) source = `^(?:${source})$`;
  const jsFlags = [...new Set(flags?.[1] ?? '')].join('') + (options.global ? 'g' : '');
  return new RegExp(source, options.anchored && !jsFlags.includes('s') ? `${jsFlags}s` : jsFlags);
}

/** Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}` in a replacement; `$$` is a dollar; unknown groups are empty. */
export function expandGoReplacement(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_whole, braced?: string, bare?: string) => {
    const name = braced ?? bare;
    if (name === undefined) return '$';
    if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
    return match.groups?.[name] ?? '';
  });
}
