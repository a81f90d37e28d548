/** What a Loki API call answered: the status, the body parsed as JSON when it is JSON, and the text. */
export interface LokiAnswer {
  status: number;
  /** Loki's documented JSON shapes, walked freely by the tests. */
  body: any;
  text: string;
}

/**
 * One call to a Loki-compatible API as Grafana makes it: parameters in the
 * query string (GET) or a form body (POST), the tenant in X-Scope-OrgID.
 * A parameter given as a list is repeated (`match[]`).
 */
export async function lokiCall(
  server: { url: string; token: string },
  tenant: string,
  path: string,
  params: Record<string, string | string[]>,
  options: { method?: 'GET' | 'POST'; headers?: Record<string, string> } = {},
): Promise<LokiAnswer> {
  const method = options.method ?? 'GET';
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) for (const one of [value].flat()) form.append(key, one);
  const response = await fetch(method === 'GET' ? `${server.url}${path}?${form}` : `${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      'x-scope-orgid': tenant,
      ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...options.headers,
    },
    body: method === 'POST' ? form.toString() : undefined,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/** The lines a LogQL selector finds in the last hour (and the next minute), across streams, up to `limit`. */
export async function recentLines(
  server: { url: string; token: string },
  tenant: string,
  selector: string,
  limit = 1000,
): Promise<string[]> {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const answer = await lokiCall(server, tenant, '/loki/api/v1/query_range', {
    query: selector,
    start: String(nowNs - 3_600_000_000_000n),
    end: String(nowNs + 60_000_000_000n),
    limit: String(limit),
  });
  if (answer.status !== 200) throw new Error(`query ${selector}: ${answer.status} ${answer.text}`);
  return (answer.body.data.result as { values: [string, string][] }[]).flatMap((series) => series.values.map(([, line]) => line));
}
