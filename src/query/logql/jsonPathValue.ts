/**
 * The value at a path of a JSON line as Loki's `| json label="path"` reads it
 * (buger/jsonparser over the line's text, not a decoded object): the first of
 * duplicate keys, objects and arrays exactly as written, numbers as written,
 * strings decoded; undefined where the path leads nowhere or to null.
 * The line must be valid JSON (the caller has parsed it once already).
 */
export function jsonPathValue(line: string, path: readonly (string | number)[]): string | undefined {
  let at = skipSpace(line, 0);
  for (const segment of path) {
    const found = typeof segment === 'number' ? arrayElement(line, at, segment) : objectMember(line, at, segment);
    if (found === undefined) return undefined;
    at = found;
  }
  const raw = line.slice(at, valueEnd(line, at));
  if (raw === 'null') return undefined;
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r')) at++;
  return at;
}

/** Where the string starting at `at` (its opening quote) ends, after its closing quote. */
function stringEnd(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

/** Where the value starting at `at` ends. */
function valueEnd(text: string, at: number): number {
  if (text[at] === '"') return stringEnd(text, at);
  if (text[at] !== '{' && text[at] !== '[') {
    let i = at;
    while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
    return i;
  }
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (c === '"') i = stringEnd(text, i) - 1;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') if (--depth === 0) return i + 1;
  }
  return text.length;
}

/** Start of the value of the first member named `key` of the object at `at`. */
function objectMember(text: string, at: number, key: string): number | undefined {
  if (text[at] !== '{') return undefined;
  let i = skipSpace(text, at + 1);
  while (text[i] === '"') {
    const keyEnd = stringEnd(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    const value = skipSpace(text, skipSpace(text, keyEnd) + 1);
    if (name === key) return value;
    i = skipSpace(text, valueEnd(text, value));
    if (text[i] !== ',') return undefined;
    i = skipSpace(text, i + 1);
  }
  return undefined;
}

/** Start of element `index` of the array at `at`. */
function arrayElement(text: string, at: number, index: number): number | undefined {
  if (text[at] !== '[') return undefined;
  let i = skipSpace(text, at + 1);
  if (text[i] === ']') return undefined;
  for (let n = 0; ; n++) {
    if (n === index) return i;
    i = skipSpace(text, valueEnd(text, i));
    if (text[i] !== ',') return undefined;
    i = skipSpace(text, i + 1);
  }
}
