/** ln Γ(x) for x > 0 (Lanczos, g = 7): exact to about 15 digits. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln P(X ≥ k) for X ~ Poisson(λ), k > λ (the regularized lower gamma P(k, λ), by its series). */
function logPoissonUpperTail(k: number, lambda: number): number {
  if (lambda <= 0) return k > 0 ? -Infinity : 0;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 10_000 && term > sum * 1e-15; n++) {
    term *= lambda / (k + n);
    sum += term;
  }
  return k * Math.log(lambda) - lambda - logGamma(k + 1) + Math.log(sum);
}

/** The standard normal deviate with upper-tail probability e^logP (Abramowitz & Stegun 26.2.23, for small p). */
function normalDeviate(logP: number): number {
  if (logP >= Math.log(0.5)) return 0;
  const t = Math.sqrt(-2 * logP);
  return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
}

/**
 * How surprising `errors` out of `requests` are when the baseline rate is
 * `rate` and the baseline's own counts vary `dispersion` times more than
 * chance would (quasi-Poisson): the number of standard deviations a normal
 * variable would need to be this rare. Exact for small counts, where a
 * z-score would call 2 errors in 3 requests a catastrophe.
 */
export function rateSurprise(errors: number, requests: number, rate: number, dispersion: number): number {
  const expected = requests * rate;
  if (errors <= expected) return 0;
  return normalDeviate(logPoissonUpperTail(errors / dispersion, expected / dispersion));
}

/** ln P(X ≤ k) for X ~ Poisson(λ), k < λ: summed from the k-th term down, where terms shrink geometrically. */
function logPoissonLowerTail(k: number, lambda: number): number {
  const top = Math.floor(k);
  let term = 1;
  let sum = 1;
  for (let i = top; i > 0 && term > sum * 1e-15; i--) {
    term *= i / lambda;
    sum += term;
  }
  return top * Math.log(lambda) - lambda - logGamma(top + 1) + Math.log(sum);
}

/**
 * How surprising it is to see only `observed` records where `expected` were
 * usual and the baseline varies `dispersion` times more than chance: the
 * normal deviate of the Poisson lower tail. Over several buckets a small
 * service's drop to a fifth is as clear as a big service's in one.
 */
export function shortfallSurprise(observed: number, expected: number, dispersion: number): number {
  if (observed >= expected) return 0;
  return normalDeviate(logPoissonLowerTail(observed / dispersion, expected / dispersion));
}
