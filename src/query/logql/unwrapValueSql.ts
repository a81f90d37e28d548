import type { Unwrap } from './ast.js';

/**
 * An unwrapped label's value converted by ClickHouse to the very double the engine's
 * convertValue (pipeline.ts) gives, on the texts where that is provable, and a flag
 * for every other text (the query then runs in the engine). The proof: a decimal of at
 * most 15 digits is an integer below 2^53 divided by a power of ten, both exact doubles,
 * so the quotient is the correctly rounded value of the decimal, which is what
 * JavaScript's Number() returns; a Go duration of one unit is that number times the
 * unit's factor, the product the engine computes (goDuration.ts). ClickHouse's own float
 * parser is not used: it is not correctly rounded unless precise_float_parsing is set.
 */

/** A decimal without exponent, sign handled by the caller's pattern, ≤ 15 digits. */
const decimal = '[0-9]+(?:\\.[0-9]+)?';
/** Go's duration units and their factors in seconds, written as the engine's are (1e-3 is the double nearest 1/1000). */
const durationUnits: [string, string][] = [
  ['ns', '1 / 1000000000'],
  ['us', '1 / 1000000'],
  ['µs', '1 / 1000000'],
  ['μs', '1 / 1000000'],
  ['ms', '1 / 1000'],
  ['s', '1'],
  ['m', '60'],
  ['h', '3600'],
];
/** 10^0 … 10^15 as integers converted to doubles (exact). */
const powersOfTen = `CAST([${Array.from({ length: 16 }, (_, i) => `1${'0'.repeat(i)}`).join(', ')}] AS Array(Float64))`;

/** The double of a decimal text (validated by the caller): digits without the point, divided by 10^(digits after it). */
function decimalSql(text: string): string {
  const fraction = `if(position(${text}, '.') = 0, 0, length(${text}) - position(${text}, '.'))`;
  return `(toFloat64(toInt64OrZero(replaceOne(${text}, '.', ''))) / arrayElement(${powersOfTen}, ${fraction} + 1))`;
}

/** At most 15 digits: the integer of all of them is exact in a double. */
function fewDigits(text: string): string {
  return `length(replaceRegexpAll(${text}, '[^0-9]', '')) <= 15`;
}

/**
 * `value`: the label's value as a double (meaningless where `exact` is 0); `exact`: the
 * text is one SQL converts as the engine does. Undefined for `bytes()`, which SQL never converts.
 */
export function unwrapValueSql(
  raw: string,
  conversion: Unwrap['conversion'],
  param: (type: string, value: unknown) => string,
): { value: string; exact: string } | undefined {
  if (conversion === 'bytes') return undefined;
  if (conversion === 'number') {
    // -0 is a double of its own, which the integer route cannot give: the engine takes it.
    return {
      value: decimalSql(raw),
      exact: `(match(${raw}, ${param('String', `^-?${decimal}$`)}) AND ${fewDigits(raw)} AND NOT (startsWith(${raw}, '-') AND ${decimalSql(raw)} = 0))`,
    };
  }
  const number = `extract(${raw}, ${param('String', `^(${decimal})`)})`;
  const unit = `substring(${raw}, length(${number}) + 1)`;
  const factor = `multiIf(${durationUnits.map(([name, seconds]) => `${unit} = ${param('String', name)}, ${seconds}`).join(', ')}, 0)`;
  return {
    value: `(${decimalSql(number)} * ${factor})`,
    exact: `(match(${raw}, ${param('String', `^${decimal}(?:ns|us|µs|μs|ms|s|m|h)$`)}) AND ${fewDigits(raw)})`,
  };
}
