/** How CLI commands reach a running server: URL and token from flags or MESHLOG_SERVER / MESHLOG_TOKEN. */
export interface ServerFlags {
  server: string;
  token?: string;
}

export async function callServer<T>(
  flags: ServerFlags,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  return JSON.parse((await requestServer(flags, method, path, body, headers)).body.toString('utf8')) as T;
}

/** The answer as bytes with its headers, for answers that are not JSON (reports in HTML or PDF). */
export async function requestServer(
  flags: ServerFlags,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<{ body: Buffer; headers: Headers }> {
  const token = flags.token ?? process.env.MESHLOG_TOKEN;
  const headers: Record<string, string> = { ...extraHeaders };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${flags.server.replace(/\/$/, '')}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw serverError(response.status, answer.toString('utf8'), token);
  return { body: answer, headers: response.headers };
}

/** The token a command sends: --token, else MESHLOG_TOKEN. */
export const tokenOf = (flags: { token?: string }): string | undefined => flags.token ?? process.env.MESHLOG_TOKEN;

/**
 * A refusal from the server, with the next step: which token to pass and how
 * (a 401 without a token names MESHLOG_TOKEN and --token; a 403 keeps the
 * server's reason, which names the role or tenant that was missing).
 */
export function serverError(status: number, body: string, token: string | undefined): Error {
  const answer = `server answered ${status}: ${body.trim()}`;
  if (status === 401 && !token) {
    return new Error(
      `${answer}\nno token was sent: set MESHLOG_TOKEN or pass --token (the bootstrap admin token is in <data-dir>/admin-token, or MESHLOG_ADMIN_TOKEN on the server; see meshlog keys create for narrower keys)`,
    );
  }
  if (status === 401)
    return new Error(
      `${answer}\nthe token (--token or MESHLOG_TOKEN) was refused: it is mistyped, revoked or expired, or belongs to another server`,
    );
  if (status === 403)
    return new Error(`${answer}\nthis token lacks the role or tenant: use a token that holds it (meshlog keys create --role … --tenant …)`);
  return new Error(answer);
}
