import { createHash } from 'node:crypto';
import type { MeshlogConfig } from './schema.js';

/**
 * Field names whose values are credentials: never written to the audit trail (a file path to one is kept: `*_file`).
 * A number or a flag is never one: `…_per_key` rate limits must show when they change.
 */
const secretField = /(^|_)(token|tokens|password|secret|secret_access_key|key|keys)$/i;
export const excludedSecret = '[secret excluded]';

/** The effective configuration without its secrets, keys sorted: what is hashed and what a change shows. */
export function configSnapshot(config: MeshlogConfig): Record<string, unknown> {
  return strip(config, []) as Record<string, unknown>;
}

/** Webhook URLs that are credentials themselves (a Slack incoming webhook's path is its secret): only the origin shows. */
const credentialUrlLists = new Set(['alerting.slack', 'alerting.webhooks']);

function strip(value: unknown, path: string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => strip(item, path));
  if (typeof value === 'string') return withoutUrlCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[name];
    if (field === undefined) continue;
    if (secretField.test(name) && !name.endsWith('_file') && typeof field !== 'number' && typeof field !== 'boolean')
      out[name] = excludedSecret;
    else if (name === 'url' && typeof field === 'string' && credentialUrlLists.has(path.join('.'))) out[name] = urlOrigin(field);
    else out[name] = strip(field, [...path, name]);
  }
  return out;
}

/** A password in a URL (`clickhouse_url`, a NATS server, an S3 endpoint) and its query string never reach the audit trail. */
function withoutUrlCredentials(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.password === '' && url.search === '') return text;
  if (url.password !== '') url.password = 'secret-excluded';
  if (url.search !== '') url.search = '?secret-excluded';
  return url.toString();
}

function urlOrigin(value: string): string {
  try {
    return `${new URL(value).origin}/${excludedSecret}`;
  } catch {
    return excludedSecret;
  }
}

export function snapshotSha256(snapshot: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(snapshot)).digest('hex');
}

export interface ConfigDifference {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** Leaf-by-leaf differences between two snapshots (arrays compared whole: a policy list reads better as before/after). */
export function configDiff(before: Record<string, unknown>, after: Record<string, unknown>, prefix = ''): ConfigDifference[] {
  const differences: ConfigDifference[] = [];
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const path = prefix ? `${prefix}.${name}` : name;
    const [a, b] = [before[name], after[name]];
    if (isObject(a) && isObject(b)) differences.push(...configDiff(a, b, path));
    else if (JSON.stringify(a) !== JSON.stringify(b))
      differences.push({ path, ...(a === undefined ? {} : { from: a }), ...(b === undefined ? {} : { to: b }) });
  }
  return differences;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
