/**
 * Credentials out of everything meshlog writes about a request: the audit
 * trail (hash-chained, so a secret written there can never be removed), the
 * server log and error messages. Clients put their keys in many places:
 * Datadog's v1 intake path (`/v1/input/<key>`), query parameters
 * (`?api_key=`, `?dd-api-key=`, `?token=`, `?access_token=`, OIDC `?code=`),
 * userinfo (`https://user:pass@host`), authorization headers, JSON bodies.
 * Whatever looks like one of those is replaced by `[redacted]`; meshlog keys
 * keep their id (`mlk_<id>_[redacted]`), which is no secret and says whose
 * key it was.
 *
 * One module, used by every writer of such text, and by the audit trail on
 * every record it commits as the last line of defence.
 */

export const redacted = '[redacted]';

/** Names (of query parameters, headers, JSON fields) whose values are credentials. */
const credentialName =
  'api[_-]?key|dd[_-]api[_-]key|dd[_-]application[_-]key|application[_-]key|app[_-]?key|x[_-]api[_-]key|x[_-]insert[_-]key|license[_-]key|' +
  'access[_-]?token|refresh[_-]token|id[_-]token|auth[_-]?token|splunk[_-]token|hec[_-]token|token|bearer|authorization|proxy[_-]authorization|' +
  'password|passwd|pwd|secret|client[_-]secret|shared[_-]?key|private[_-]key|secret[_-]access[_-]key|' +
  'x[_-]amz[_-]signature|x[_-]amz[_-]credential|x[_-]amz[_-]security[_-]token|sig|signature|session[_-]?id|session[_-]token|cookie|set[_-]cookie';

/** A whole name that is a credential's (`token`, `DD-API-KEY`, `client_secret`), case-insensitive. */
const credentialNamePattern = new RegExp(`^(?:${credentialName})$`, 'i');
/** Query parameters that carry credentials beyond the names above: Google-style `?key=`, OIDC's authorization `?code=`. */
const credentialQueryNamePattern = new RegExp(`^(?:${credentialName}|key|code|auth)$`, 'i');

export function isCredentialName(name: string): boolean {
  return credentialNamePattern.test(name) || (name.includes('%') && credentialNamePattern.test(decodedName(name)));
}

/** `_` and `-` as they are also written in a URL (`api%5Fkey`). */
function encodedSeparators(names: string): string {
  return names.replaceAll('[_-]', '(?:[_-]|%5[Ff]|%2[Dd])');
}

/**
 * Free-text rules, applied in order. Every repetition is bounded or over a
 * class that excludes its terminator, so a hostile value costs linear time.
 */
const textRules: [RegExp, string][] = [
  // meshlog API keys anywhere: the id stays, the secret goes.
  [/\bmlk_([0-9a-f]{12})_[A-Za-z0-9_-]+/g, `mlk_$1_${redacted}`],
  // Generated admin tokens (mlk_ + base64url) and any other mlk_ token.
  [/\bmlk_[A-Za-z0-9_-]{16,}/g, `mlk_${redacted}`],
  // userinfo in a URL: scheme://user:password@host (the user name is kept).
  [/([A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^/\s:@?#]{0,256}:)[^/\s@?#]{1,1024}@/g, `$1${redacted}@`],
  // Path-borne intake keys: Datadog /v1/input/<key>, Loggly /inputs/<token>, /bulk/<token>, Sumo Logic /receiver/v1/http/<token>.
  [/(\/(?:v\d\/)?inputs?\/|\/bulk\/|\/receiver\/v\d\/(?:http|otlp)\/)[^/?#\s"']+/gi, `$1${redacted}`],
  // Authorization schemes followed by their credential.
  [/\b(Bearer|Basic|Splunk|ApiKey|Token|Digest|DSN)(\s+|%20|\+)[A-Za-z0-9._~+/=:%-]{4,}/g, `$1$2${redacted}`],
  // JWTs (OIDC tokens).
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, redacted],
  // name=value, name: value, "name":"value", ?name=value for credential names (query strings, headers, logfmt, JSON).
  [
    new RegExp(
      `((?:^|[^A-Za-z0-9_-])["']?(?:${encodedSeparators(credentialName)})["']?\\s{0,8}(?:=|:|%3[Dd])\\s{0,8}["']?)(?!\\[redacted\\]|(?:Bearer|Basic|Splunk|ApiKey|Token|Digest)\\b)[^"'\\s&,;}#]+`,
      'gi',
    ),
    `$1${redacted}`,
  ],
  // Query parameters that are credentials only in a query string: ?key=, OIDC's ?code=, ?auth=.
  [/([?&;](?:key|code|auth)=)(?!\[redacted\])[^&\s#"']+/gi, `$1${redacted}`],
];

/** Secrets meshlog itself holds (the admin token, forward shared key and passwords), found verbatim wherever they appear. */
const knownSecrets = new Set<string>();

/** Secrets shorter than this are not searched for verbatim: a short one would redact ordinary words. */
const minKnownSecretLength = 12;

/** Registers a secret of this server to be found verbatim (and URL-encoded) in anything scrubbed. */
export function registerSecret(secret: string | undefined): void {
  if (secret === undefined || secret.length < minKnownSecretLength) return;
  knownSecrets.add(secret);
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) knownSecrets.add(encoded);
}

/** Text with every credential it carries replaced by `[redacted]`. */
export function scrubText(text: string): string {
  let out = text;
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join(redacted);
  for (const [pattern, replacement] of textRules) out = out.replace(pattern, replacement);
  return out;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * A request URL (path and query) with its credentials replaced: query
 * parameters named like credentials (percent-encoded names too), path-borne
 * keys and anything scrubText finds.
 */
export function scrubUrl(url: string): string {
  const hash = url.indexOf('#');
  const withoutFragment = hash < 0 ? url : url.slice(0, hash);
  const question = withoutFragment.indexOf('?');
  const path = question < 0 ? withoutFragment : withoutFragment.slice(0, question);
  let out = scrubText(path);
  if (question >= 0) {
    const query = withoutFragment
      .slice(question + 1)
      .split(/([&;])/)
      .map((part) => {
        if (part === '&' || part === ';') return part;
        const equals = part.indexOf('=');
        if (equals < 0) return scrubText(part);
        const name = part.slice(0, equals);
        return credentialQueryNamePattern.test(decodedName(name)) ? `${name}=${redacted}` : `${name}=${scrubText(part.slice(equals + 1))}`;
      })
      .join('');
    out += `?${query}`;
  }
  if (hash >= 0) out += `#${scrubText(url.slice(hash + 1))}`;
  return out;
}

/** Header values named like credentials replaced whole; the others scrubbed as text. */
export function scrubHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) out[name] = value;
    else if (isCredentialName(name)) out[name] = redacted;
    else out[name] = Array.isArray(value) ? value.map(scrubText) : scrubText(value);
  }
  return out;
}

/** Properties whose values are URLs. */
const urlProperty = /^(?:url|uri|href|path|target|location|referer|referrer|redirect|return_to)$/i;

/**
 * A value (an audit detail, a log line's fields) with credentials removed:
 * properties named like credentials replaced whole, strings scrubbed as
 * text (as URLs under url-like names). Structure is kept; depth and size
 * are bounded by the caller's value.
 */
export function scrubValue<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return scrubText(value) as T;
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1)) as T;
  if (value instanceof Error) return scrubText(value.message) as T;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    if (isCredentialName(name) && item !== null && item !== undefined && item !== '' && typeof item !== 'boolean') out[name] = redacted;
    else if (typeof item === 'string' && urlProperty.test(name)) out[name] = scrubUrl(item);
    else out[name] = scrubValue(item, depth + 1);
  }
  return out as T;
}
