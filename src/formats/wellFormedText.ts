/**
 * Text that cannot be written as UTF-8: a lone UTF-16 surrogate. JSON may
 * spell one as an escape (`"\ud800"`), and lenient UTF-8 decoders (msgpack's,
 * protobufjs's own for a plain Uint8Array) turn CESU-8 bytes (ED A0–BF …)
 * into one. Such a string reaches ClickHouse as an escape it refuses, so one
 * record would fail a whole group commit of several tenants' requests; made
 * well-formed (each lone surrogate becomes U+FFFD, as a UTF-8 decoder does
 * with an invalid byte) where it enters, every later stage and the seal see
 * the text that is stored.
 */

/** A `\uD800`–`\uDFFF` escape; also true for a valid pair or an escaped backslash before `ud8…`, which costs only the walk. */
const surrogateEscape = /\\u[dD][89a-fA-F]/;

/** Every string in a decoded value (object keys too) made well-formed; the value itself when nothing needed it. */
export function wellFormedValue<T>(value: T): T {
  return wellFormed(value) as T;
}

/**
 * Iterative, as the nesting checks are: a value nested 20,000 deep must not
 * overflow the stack. Only plain objects (what JSON.parse and msgpack make)
 * are walked; anything else (bytes, a decoded event time) is kept as it is.
 */
function wellFormed(root: unknown): unknown {
  const holder: Record<string, unknown> = { root };
  const slots: [Record<string | number, unknown>, string | number][] = [[holder, 'root']];
  while (slots.length > 0) {
    const [parent, slot] = slots.pop()!;
    let value = parent[slot];
    if (typeof value === 'string') {
      if (!value.isWellFormed()) parent[slot] = value.toWellFormed();
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) slots.push([value as unknown[] as Record<number, unknown>, i]);
    } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      if (Object.keys(value).some((key) => !key.isWellFormed())) {
        // A new object: `__proto__` stays an own key (CreateDataProperty), as JSON.parse made it.
        value = Object.fromEntries(Object.entries(value).map(([key, inner]) => [key.toWellFormed(), inner]));
        parent[slot] = value;
      }
      for (const key of Object.keys(value as object)) slots.push([value as Record<string, unknown>, key]);
    }
  }
  return holder.root;
}

/** JSON.parse, with every string well-formed; the walk runs only for text that spells a surrogate escape. */
export function parseWellFormedJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  return surrogateEscape.test(text) ? wellFormed(value) : value;
}

/** Whether bytes hold a CESU-8 surrogate (ED followed by A0–BF), which no valid UTF-8 does. */
export function holdsEncodedSurrogate(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0xed); i !== -1 && i + 1 < bytes.length; i = bytes.indexOf(0xed, i + 1)) {
    if (bytes[i + 1] >= 0xa0 && bytes[i + 1] <= 0xbf) return true;
  }
  return false;
}

/** Chunks passed on unchanged; `seen.value` turns true once one held a CESU-8 surrogate (also split across two chunks). */
export async function* watchEncodedSurrogates(chunks: AsyncIterable<Uint8Array>, seen: { value: boolean }): AsyncGenerator<Uint8Array> {
  let last = 0;
  for await (const chunk of chunks) {
    if (!seen.value && chunk.length > 0 && (holdsEncodedSurrogate(chunk) || (last === 0xed && chunk[0] >= 0xa0 && chunk[0] <= 0xbf))) {
      seen.value = true;
    }
    if (chunk.length > 0) last = chunk[chunk.length - 1];
    yield chunk;
  }
}
