import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type MeshlogConfig } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Tree = Record<string, unknown>;

/** Every settable key path, derived from the schema, e.g. ['ingest', 'max_body_bytes']. */
function keyPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  const shape = objectShape(schema);
  if (!shape) return [prefix];
  return Object.entries(shape).flatMap(([key, child]) => keyPaths(child, [...prefix, key]));
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodObject) return current.shape as Record<string, z.ZodType>;
    // Prefault too: a section whose defaults come from its fields (cluster) is still settable from the environment.
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) {
      current = current.unwrap() as z.ZodType;
      continue;
    }
    return undefined;
  }
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]] = value;
}

/** `MESHLOG_INGEST_MAX_BODY_BYTES` → ingest.max_body_bytes, for every schema key. */
function fromEnvironment(schema: z.ZodType, prefix: string, env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const path of keyPaths(schema)) {
    const value = env[`${prefix}${path.join('_').toUpperCase()}`];
    if (value !== undefined && value !== '') setPath(tree, path, value);
  }
  return tree;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prior && typeof prior === 'object'
        ? merge(prior as Tree, value as Tree)
        : value;
  }
  return out;
}

function readFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must be a YAML mapping`);
  return parsed as Tree;
}

function describeIssue(issue: z.core.$ZodIssue, input: Tree): string {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = key ? `${key}.` : '';
    return `unknown key ${issue.keys.map((k) => `"${where}${k}"`).join(', ')}`;
  }
  let value: unknown = input;
  for (const part of issue.path) value = (value as Tree | undefined)?.[part as string];
  return `${key}: ${issue.message} (got ${JSON.stringify(value)})`;
}

/**
 * Config from a YAML file, then MESHLOG_* environment, then flags (flags win),
 * validated as a whole; errors name the key and the bad value.
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; flags?: Tree }): MeshlogConfig {
  return loadSchemaConfig(configSchema, 'MESHLOG_', options);
}

/** The same layering and error wording for another program's schema (the agent's, with its own env prefix). */
export function loadSchemaConfig<Schema extends z.ZodType>(
  schema: Schema,
  envPrefix: string,
  options: { file?: string; env?: NodeJS.ProcessEnv; flags?: Tree },
): z.output<Schema> {
  const fileTree = options.file ? readFile(options.file) : {};
  const input = merge(merge(fileTree, fromEnvironment(schema, envPrefix, options.env ?? process.env)), options.flags ?? {});
  const result = schema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${describeIssue(issue, input)}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
