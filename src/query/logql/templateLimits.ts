/**
 * What one template may make of one entry. Go would build any string and
 * loop any number of times; a query's template runs inside the server on
 * every line it reads, so `repeat 100000000`, `indent`, a printf width or a
 * `range` over 10^9 would fill its memory or hold its event loop. Beyond
 * these the entry gets TemplateFormatErr (`__error__`), as for any template
 * that fails on it.
 */

/** The longest string a template function returns, and the longest output of a template. */
export const templateOutputLimit = 1 << 20;

/** The most steps (nodes run, range iterations) one template takes on one entry. */
export const templateStepLimit = 100_000;

/** Throws before a string of `length` characters is built, if it would pass the limit. */
export function checkTemplateLength(length: number): void {
  if (length > templateOutputLimit) throw new Error(`the result would be longer than ${templateOutputLimit} characters`);
}
