/** One call to meshlog's JSON API as an admin tool makes it: the answer's status, and its body parsed when it is JSON. */
export async function apiCall(
  server: { url: string; token: string },
  method: string,
  path: string,
  body?: unknown,
  token = server.token,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}
