/** What a variable token becomes in a template. */
export const wildcard = '<*>';

// A variable that spans several tokens: a ctime date (`Fri Jun 17 07:07:00 2005`).
const ctimeDate =
  /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d+\s+\d+:\d+:\d+(?:\s+\d{4})?/g;
const separators = /[\s,;]+/;
// Paths (`/a/b`: two or more segments) and URLs (`https://h`, `file:///x`).
const path = /^\W*(?:(?:\w+:)?(?:\/[^/]+){2,}|[a-zA-Z][\w+.-]*:\/\/)/;
// Host, package, class and Android component names (`mail.example.com`, `a.b.C$D`, `com.app/.ui.Main`).
const dottedName = /^\W*[\w$/-]+(?:\.[\w$/-]+){2,}\W*$/;
// A value with a dot in it (`rhost=example.com`, `file=a.txt`, `ComponentInfo{com.app/.Main}`) names something particular.
const dottedValue = /^\W*(?:\w+[{([])?[\w$/-]+(?:\.[\w$/-]+)+\W*$/;
// MAC and IPv6 addresses (`00:1A:2B:3C:4D:5E`, `fe80::1`).
const colonHex = /^\W*[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,}\W*$/;
// A unit after a number (`5.2 KB`, `(1.16 KB)`, `30 ms`) belongs to the number's variable: a size is one value however it is written.
const unit = /^(?:[KMGTPkmgtp]i?[Bb]|B|[mun\u00b5]?s|secs?|%)[)\]}]*$/;
// An empty bracketed or quoted value (`()`, `""`) stands where a value usually is.
const emptyValue = /^(?:\(\)|\[\]|\{\}|""|'')$/;

/**
 * A message as template tokens, split on whitespace, commas and semicolons.
 * A token holding a variable becomes `<*>` whole: anything with a digit
 * (numbers, ids, IP addresses, hex values, UUIDs, times) but a word with
 * one digit at its end (`eth0`, `IPV6`: a name), paths, dotted
 * names and long hex strings. A token that names its value (`vis=0x508`,
 * `state:7`) keeps the name and masks the value. A run of variables is one
 * `<*>` (`a=1,2` is `a=<*>`), so a value that is sometimes one token and
 * sometimes two (`a,b`) still matches; a unit after a variable joins it
 * (`5.2 KB`, `(1.16 KB)` and `30 ms` are each one `<*>`).
 */
export function messageTokens(message: string): string[] {
  const tokens = message.replace(ctimeDate, wildcard).split(separators);
  let kept = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '') continue;
    const masked = maskedToken(token);
    if (kept > 0 && tokens[kept - 1].endsWith(wildcard) && (masked === wildcard || (masked.length <= 6 && unit.test(masked)))) continue;
    tokens[kept++] = masked;
  }
  tokens.length = kept;
  return tokens;
}

/**
 * A token with its variable part masked. A token that names its value
 * (`key=value`, `key:value`) keeps the name and masks the value, so names
 * still tell messages apart; a token whose name is itself variable (a time,
 * `host.example.com:443`) is masked whole, and one with no name (`:8080`)
 * is judged whole.
 */
function maskedToken(token: string): string {
  const split = nameEnd(token);
  if (split <= 0) return isVariable(token) ? wildcard : token;
  if (isVariable(token.slice(0, split)) || isAddressOrUrl(token)) return wildcard;
  return token.slice(0, split + 1) + maskedValue(token.slice(split + 1));
}

/**
 * A value masked whole, unless it names a value of its own with `=`
 * (`UserInfo={key=https://h/x`, `release:lock=42`): then that one is masked.
 */
function maskedValue(value: string): string {
  if (value === '') return value;
  if (isAddressOrUrl(value)) return wildcard;
  const split = value.indexOf('=');
  if (split > 0 && !isVariable(value.slice(0, split))) return value.slice(0, split + 1) + maskedValue(value.slice(split + 1));
  return isVariable(value) || (value.includes('.') && dottedValue.test(value)) ? wildcard : value;
}

/** Where a token's name ends: its first `=` or `:`, or -1. */
function nameEnd(token: string): number {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code === 61 || code === 58) return i;
  }
  return -1;
}

/** A URL or a MAC or IPv6 address: tokens with a `:` that is not a name's end. */
function isAddressOrUrl(token: string): boolean {
  return (token.includes('/') && path.test(token)) || (hasDigit(token) && colonHex.test(token));
}

// Cheap character checks first: most tokens are plain words, and the regular expressions run only on candidates.
function isVariable(token: string): boolean {
  let dots = 0;
  let slash = false;
  let hexLetters = true;
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    // A digit makes a variable, unless it is the one digit ending a word: an interface or protocol name (`en0`, `IPV6`).
    if (code >= 48 && code <= 57) return !(i === token.length - 1 && i >= 2 && isLetters(token, i));
    if (code === 46) dots++;
    else if (code === 47) slash = true;
    if (hexLetters && !((code >= 97 && code <= 102) || (code >= 65 && code <= 70))) hexLetters = false;
  }
  if (hexLetters && token.length >= 8) return true;
  return (
    token === wildcard ||
    (slash && path.test(token)) ||
    (dots >= 2 && dottedName.test(token)) ||
    (token.length === 2 && emptyValue.test(token))
  );
}

function hasDigit(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code >= 48 && code <= 57) return true;
  }
  return false;
}

/** Whether the token's characters before `end` are all ASCII letters. */
function isLetters(token: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const code = token.charCodeAt(i) | 32;
    if (code < 97 || code > 122) return false;
  }
  return true;
}
