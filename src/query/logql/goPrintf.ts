import { goTypeName, printGo, type GoValue } from './goTemplateValue.js';
import { checkTemplateLength } from './templateLimits.js';

/**
 * Go's fmt.Sprintf for the verbs templates use: %v %s %q %d %f %F %e %g %x %X
 * %t %c %%, with the - + space 0 flags, width and precision; a wrong type or
 * a missing argument prints as Go does (`%!d(string=x)`, `%!s(MISSING)`).
 */
export function goSprintf(format: string, args: GoValue[]): string {
  let out = '';
  let next = 0;
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') {
      out += format[i];
      continue;
    }
    const spec = /^([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])?/.exec(format.slice(i + 1))!;
    i += spec[0].length;
    const [, flags, widthText, precisionText, verb] = spec;
    if (verb === undefined) {
      out += '%!(NOVERB)';
      continue;
    }
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (next >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const precision = precisionText === undefined ? undefined : Number(precisionText || '0');
    const body = formatOne(verb, args[next++], flags, precision);
    const width = widthText === undefined ? 0 : Number(widthText);
    checkTemplateLength(width);
    const length = [...body].length;
    if (length >= width) out += body;
    else if (flags.includes('-')) out += body + ' '.repeat(width - length);
    else if (flags.includes('0') && /[dfFeEgGxX]/.test(verb) && !/[^-+\d.eE]/.test(body.replace(/^[-+]?(0x)?/, ''))) {
      const sign = /^[-+]/.test(body) ? body[0] : '';
      out += sign + '0'.repeat(width - length) + body.slice(sign.length);
    } else out += ' '.repeat(width - length) + body;
  }
  if (next < args.length)
    out += `%!(EXTRA ${args
      .slice(next)
      .map((arg) => `${goTypeName(arg)}=${printGo(arg)}`)
      .join(', ')})`;
  return out;
}

function bad(verb: string, value: GoValue): string {
  return `%!${verb}(${goTypeName(value)}=${printGo(value)})`;
}

function signed(text: string, flags: string): string {
  if (text.startsWith('-')) return text;
  if (flags.includes('+')) return `+${text}`;
  if (flags.includes(' ')) return ` ${text}`;
  return text;
}

function formatOne(verb: string, value: GoValue, flags: string, precision: number | undefined): string {
  switch (verb) {
    case 'v':
    case 's': {
      if (verb === 's' && typeof value !== 'string' && typeof value !== 'object') return bad(verb, value);
      const text = printGo(value);
      return precision === undefined ? text : [...text].slice(0, precision).join('');
    }
    case 'q':
      return typeof value === 'string' ? JSON.stringify(value) : bad(verb, value);
    case 't':
      return typeof value === 'boolean' ? String(value) : bad(verb, value);
    case 'd':
      return typeof value === 'bigint' ? signed(value.toString(), flags) : bad(verb, value);
    case 'c':
      return typeof value === 'bigint' ? String.fromCodePoint(Number(value)) : bad(verb, value);
    case 'x':
    case 'X': {
      let text: string;
      if (typeof value === 'bigint') text = (value < 0n ? '-' : '') + (value < 0n ? -value : value).toString(16);
      else if (typeof value === 'string') text = Buffer.from(value, 'utf8').toString('hex');
      else return bad(verb, value);
      if (flags.includes('#')) text = text.startsWith('-') ? `-0x${text.slice(1)}` : `0x${text}`;
      return verb === 'X' ? text.toUpperCase() : text;
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G': {
      if (typeof value !== 'number') return bad(verb, value);
      if (!Number.isFinite(value)) return signed(Number.isNaN(value) ? 'NaN' : value > 0 ? 'Inf' : '-Inf', flags);
      let text: string;
      if (verb === 'f' || verb === 'F') text = value.toFixed(precision ?? 6);
      else if (verb === 'e' || verb === 'E') text = goExponent(value.toExponential(precision ?? 6));
      else text = precision === undefined ? printGo(value) : goExponent(value.toPrecision(Math.max(precision, 1)));
      return signed(verb === 'E' || verb === 'G' ? text.toUpperCase() : text, flags);
    }
    default:
      return bad(verb, value);
  }
}

/** JavaScript's `1.5e+7` as Go's `1.5e+07` (at least two exponent digits). */
function goExponent(text: string): string {
  return text.replace(/e([-+])(\d)$/, 'e$10$2');
}
