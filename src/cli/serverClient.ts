/** How CLI commands reach a running server: URL and token from flags or MESHLOG_SERVER / MESHLOG_TOKEN. */
export interface ServerFlags {
  server: string;
  token?: string;
}

export async function callServer<T>(flags: ServerFlags, method: string, path: string, body?: unknown): Promise<T> {
  return JSON.parse((await requestServer(flags, method, path, body)).body.toString('utf8')) as T;
}

/** The answer as bytes with its headers, for answers that are not JSON (reports in HTML or PDF). */
export async function requestServer(flags: ServerFlags, method: string, path: string, body?: unknown): Promise<{ body: Buffer; headers: Headers }> {
  const token = flags.token ?? process.env.MESHLOG_TOKEN;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${flags.server.replace(/\/$/, '')}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new Error(`server answered ${response.status}: ${answer.toString('utf8').trim()}`);
  return { body: answer, headers: response.headers };
}
