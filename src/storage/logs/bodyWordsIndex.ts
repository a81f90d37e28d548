/**
 * What the logs table's body text index covers (migration 30): the body with every run of digits turned into one
 * space. Request ids, ports, sizes and times are nearly all distinct, so indexing them made the index's dictionary
 * and postings half the table; their letters alone are few (hex ids leave runs of a-f). A query prefilters with this
 * same expression (ClickHouse matches an index by its expression), then the exact filter on `body` decides.
 */
export const bodyWordsSql = `replaceRegexpAll(body, '[0-9]+', ' ')`;

const asciiLetter = /[A-Za-z]/;
const asciiNonLetter = (char: string | undefined) => char !== undefined && char < '\x80' && !asciiLetter.test(char);

/**
 * Tokens of that index every line containing `needle` holds: the runs of ASCII letters with an ASCII non-letter on
 * both sides inside the needle. In the line the same characters bound them, and there a digit became a space and
 * any other ASCII non-letter splits tokens (splitByNonAlpha), so each run is a whole token of the line's words.
 * A run touching an end of the needle may go on in the line (`error` in `errors`), and whether a non-ASCII byte
 * splits tokens is the tokenizer's to say, so neither is a token here.
 */
export function indexedWords(needle: string): string[] {
  const words: string[] = [];
  for (const match of needle.matchAll(/[A-Za-z]+/g)) {
    const end = match.index + match[0].length;
    if (asciiNonLetter(needle[match.index - 1]) && asciiNonLetter(needle[end])) words.push(match[0]);
  }
  return [...new Set(words)];
}
