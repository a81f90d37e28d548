/**
 * sprig's float functions (addf, subf, mulf, divf) compute in decimal
 * (shopspring/decimal) and only then become a float64: 20.2 / 5.25 is
 * 3.8476190476190477 there, 3.8476190476190473 in binary floating point.
 * Exact decimal add, subtract and multiply; division to 16 decimal places,
 * rounded half away from zero (decimal.DivisionPrecision).
 */
interface Decimal {
  digits: bigint;
  scale: number;
}

function parse(value: number): Decimal {
  const text = String(value);
  if (/e/i.test(text)) return parse(Number(value.toFixed(20)));
  const [whole, fraction = ''] = text.split('.');
  return { digits: BigInt(whole + fraction), scale: fraction.length };
}

function rescale(a: Decimal, scale: number): bigint {
  return a.digits * 10n ** BigInt(scale - a.scale);
}

function toNumber(d: Decimal): number {
  const negative = d.digits < 0n;
  const text = (negative ? -d.digits : d.digits).toString().padStart(d.scale + 1, '0');
  const point = text.length - d.scale;
  return Number(`${negative ? '-' : ''}${text.slice(0, point)}${d.scale > 0 ? `.${text.slice(point)}` : ''}`);
}

export function decimalOp(op: '+' | '-' | '*' | '/', x: number, y: number): number {
  const a = parse(x);
  const b = parse(y);
  if (op === '*') return toNumber({ digits: a.digits * b.digits, scale: a.scale + b.scale });
  if (op === '/') {
    if (b.digits === 0n) return x / y;
    const precision = 16;
    // a/b · 10^(precision+1), then rounded half away from zero at `precision` places.
    const numerator = a.digits * 10n ** BigInt(precision + 1 + b.scale);
    const denominator = b.digits * 10n ** BigInt(a.scale);
    let quotient = numerator / denominator;
    const last = quotient % 10n;
    quotient /= 10n;
    if (last >= 5n) quotient += 1n;
    else if (last <= -5n) quotient -= 1n;
    return toNumber({ digits: quotient, scale: precision });
  }
  const scale = Math.max(a.scale, b.scale);
  const sum = op === '+' ? rescale(a, scale) + rescale(b, scale) : rescale(a, scale) - rescale(b, scale);
  return toNumber({ digits: sum, scale });
}
