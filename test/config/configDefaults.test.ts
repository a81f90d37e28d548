import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configSnapshot, snapshotSha256 } from '../../src/config/configFingerprint.js';
import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';
import type { MeshlogConfig } from '../../src/config/schema.js';

/** JSON with a key whose value is undefined kept (as a marker), so a section that starts or stops being present shows. */
const snapshotText = (value: unknown): string =>
  `${JSON.stringify(value, (_key, v: unknown) => (v === undefined ? '<undefined>' : v), 2)}\n`;

const snapshotFile = new URL('../../../test/fixtures/config/defaults.json', import.meta.url);

// The snapshot was taken from the schema as it was before its sections moved beside their subsystems (issue #23 step 4):
// a section moved, or a default stated in one place instead of two, must leave the parsed defaults exactly as they were.
// A key added since is added to the snapshot with its default (cluster.leases.ttl_ms, cluster.role, cluster.membership.heartbeat_ms, limits.strategy), deliberately.
test('the parsed default config is the one recorded before the sections moved beside their subsystems', () => {
  const recorded = JSON.parse(readFileSync(snapshotFile, 'utf8')) as Record<string, unknown>;
  const defaults = loadConfig({ env: {} });
  assert.deepStrictEqual(JSON.parse(snapshotText(defaults)), recorded);
  // The fingerprint audited at every start (config_sha256) is the same, so an upgrade records no configuration change.
  assert.equal(snapshotSha256(configSnapshot(defaults)), snapshotSha256(configSnapshot(recorded as unknown as MeshlogConfig)));
});

type Tree = Record<string, unknown>;

/** Every scalar key of the defaults, as a path (array values and empty sections aside). */
function scalarPaths(tree: Tree, prefix: string[] = []): string[][] {
  return Object.entries(tree).flatMap(([key, value]) => {
    if (Array.isArray(value)) return [];
    if (value !== null && typeof value === 'object') return scalarPaths(value as Tree, [...prefix, key]);
    return value === undefined ? [] : [[...prefix, key]];
  });
}

const valueAt = (tree: Tree, path: string[]): unknown => path.reduce<unknown>((node, key) => (node as Tree)[key], tree);

/** A value other than the default: a flipped flag, the next number, a word the key has not got. */
const otherThan = (value: unknown): string =>
  typeof value === 'boolean' ? String(!value) : typeof value === 'number' ? String(value + 1) : `${String(value)}x`;

test('every key of every section, including those whose defaults come from their fields, can be set from the environment', () => {
  const defaults = loadConfig({ env: {} }) as unknown as Tree;
  const paths = scalarPaths(defaults);
  assert.ok(paths.some((path) => path[0] === 'cluster'));
  const unreached: string[] = [];
  for (const path of paths) {
    const name = `MESHLOG_${path.join('_').toUpperCase()}`;
    try {
      const loaded = loadConfig({ env: { [name]: otherThan(valueAt(defaults, path)) } }) as unknown as Tree;
      if (valueAt(loaded, path) === valueAt(defaults, path)) unreached.push(name);
    } catch (error) {
      // A value the key refuses (an enum, a duration) is read too: the refusal names the key.
      if (!(error instanceof ConfigError) || !error.message.includes(path.join('.'))) unreached.push(name);
    }
  }
  assert.deepEqual(unreached, []);
});
