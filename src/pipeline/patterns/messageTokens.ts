/** What a variable token becomes in a template. */
export const wildcard = '<*>';

// A variable that spans several tokens: a ctime date (`Fri Jun 17 07:07:00 2005`).
const ctimeDate = /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d+\s+\d+:\d+:\d+(?:\s+\d{4})?/g;
const separators = /[\s,;]+/;
// Paths and URLs (`/a/b`, `http://h/x`): two or more segments.
const path = /^\W*(?:\w+:)?(?:\/[^/]+){2,}/;
// Host, package and class names (`mail.example.com`, `com.android.systemui`).
const dottedName = /^\W*[\w-]+(?:\.[\w-]+){2,}\W*$/;
const longHex = /^[0-9a-fA-F]{8,}$/;
// An empty bracketed or quoted value (`()`, `""`) stands where a value usually is.
const emptyValue = /^(?:\(\)|\[\]|\{\}|""|'')$/;

/**
 * A message as template tokens, split on whitespace, commas and semicolons.
 * A token holding a variable becomes `<*>` whole: anything with a digit
 * (numbers, ids, IP addresses, hex values, UUIDs, times), paths, dotted
 * names and long hex strings. A run of variables is one `<*>`, so a value
 * that is sometimes one token and sometimes two (`a,b`) still matches.
 */
export function messageTokens(message: string): string[] {
  const tokens = message.replace(ctimeDate, wildcard).split(separators);
  let kept = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '') continue;
    if (isVariable(token)) {
      if (kept > 0 && tokens[kept - 1] === wildcard) continue;
      tokens[kept++] = wildcard;
    } else {
      tokens[kept++] = token;
    }
  }
  tokens.length = kept;
  return tokens;
}

function isVariable(token: string): boolean {
  return token === wildcard || hasDigit(token) || path.test(token) || dottedName.test(token) || longHex.test(token) || emptyValue.test(token);
}

function hasDigit(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code >= 48 && code <= 57) return true;
  }
  return false;
}
