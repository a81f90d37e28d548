import { createHash } from 'node:crypto';
import type { MeshlogConfig } from './schema.js';

/** Field names whose values are credentials: never written to the audit trail (a file path to one is kept: `*_file`). */
const secretField = /(^|_)(token|tokens|password|secret|secret_access_key|key|keys)$/i;
export const excludedSecret = '[secret excluded]';

/** The effective configuration without its secrets, keys sorted: what is hashed and what a change shows. */
export function configSnapshot(config: MeshlogConfig): Record<string, unknown> {
  return strip(config) as Record<string, unknown>;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[name];
    if (field === undefined) continue;
    out[name] = secretField.test(name) && !name.endsWith('_file') ? excludedSecret : strip(field);
  }
  return out;
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
