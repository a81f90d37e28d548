import { isMetric } from '../query/logql/evaluateMetric.js';
import { parseLogql } from '../query/logql/parser.js';
import { serverError } from './serverClient.js';
import { followTail, type TailedEntry } from './tailFollow.js';

export interface QueryFlags {
  from?: string;
  to?: string;
  since: string;
  limit: string;
  step?: string;
  direction: string;
  output: string;
  server: string;
  token?: string;
  orgId?: string;
  tail?: boolean;
}

interface StreamResult {
  stream: Record<string, string>;
  values: [string, string][];
}
interface MatrixResult {
  metric: Record<string, string>;
  values: [number, string][];
}

const labelText = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;

/**
 * A body as one table cell: line breaks, tabs and other control characters
 * are shown escaped (\n, \t, \r, \u001b…), so each entry stays one row and
 * its columns line up. `--output raw` prints bodies as they are.
 */
export function tableCell(body: string): string {
  return body.replace(/[\u0000-\u001f\u007f]/g, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\t') return '\\t';
    if (char === '\r') return '\\r';
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** RFC3339 with nanoseconds, from a nanosecond timestamp string. */
function isoNanos(ns: string): string {
  const value = BigInt(ns);
  const iso = new Date(Number(value / 1_000_000n)).toISOString();
  return `${iso.slice(0, 19)}.${(value % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** `meshlog query '<logql>'`: asks a running server's Loki API, like logcli. */
export async function queryCommand(logql: string, flags: QueryFlags): Promise<void> {
  // Parse locally first: a typo gets its position without a round trip.
  const metric = isMetric(parseLogql(logql));
  const params = new URLSearchParams({ query: logql, limit: flags.limit, direction: flags.direction });
  if (flags.from) params.set('start', flags.from);
  else params.set('since', flags.since);
  if (flags.to) params.set('end', flags.to);
  if (flags.step) params.set('step', flags.step);
  const headers: Record<string, string> = {};
  const token = flags.token ?? process.env.MESHLOG_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  if (flags.orgId) headers['x-scope-orgid'] = flags.orgId;
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const print = (entry: TailedEntry): void => {
    if (flags.output === 'raw') out(entry.line);
    else if (flags.output === 'jsonl' || flags.output === 'json')
      out(JSON.stringify({ timestamp: entry.ts, labels: entry.labels, line: entry.line }));
    else out(`${isoNanos(entry.ts)}\t${labelText(entry.labels)}\t${tableCell(entry.line)}`);
  };
  if (flags.tail) {
    if (metric) throw new Error('--tail follows log queries only');
    const tailParams = new URLSearchParams({ query: logql, limit: flags.limit });
    if (flags.from) tailParams.set('start', flags.from);
    return followTail(flags.server, tailParams, headers, print);
  }

  const response = await fetch(`${flags.server.replace(/\/$/, '')}/loki/api/v1/query_range?${params}`, { headers });
  const text = await response.text();
  if (!response.ok) throw serverError(response.status, text, token);
  const body = JSON.parse(text) as { data: { resultType: string; result: unknown[] } };

  if (flags.output === 'json') return out(JSON.stringify(body.data));
  if (body.data.result.length === 0) process.stderr.write(`${noResults(flags.orgId)}\n`);
  if (metric) {
    for (const series of body.data.result as MatrixResult[]) {
      for (const [time, value] of series.values) {
        if (flags.output === 'jsonl') out(JSON.stringify({ metric: series.metric, time, value }));
        else out(`${new Date(time * 1000).toISOString()}\t${labelText(series.metric)}\t${value}`);
      }
    }
    return;
  }
  const entries = (body.data.result as StreamResult[]).flatMap((stream) =>
    stream.values.map(([ts, line]) => ({ ts, line, labels: stream.stream })),
  );
  const forward = flags.direction === 'forward';
  entries.sort((a, b) => (BigInt(a.ts) === BigInt(b.ts) ? 0 : BigInt(a.ts) < BigInt(b.ts) === forward ? -1 : 1));
  for (const entry of entries) print(entry);
}

/** An empty answer names where it looked: an admin's token reads tenant "default" unless told otherwise. */
function noResults(orgId: string | undefined): string {
  return orgId
    ? `no results in tenant "${orgId}"`
    : 'no results in the token\'s own tenant (a token holding every tenant, like the admin token, reads "default"; --org-id names another)';
}
