import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ClusterSecrets } from '../cluster/clusterSecrets.js';

/** What names one alert instance: its tenant, rule group and labels (stored values, the masked ones too). */
export interface AlertKey {
  tenant: string;
  namespace: string;
  group: string;
  labels: Record<string, string>;
}

/** Default key file: beside the data directory, never inside it, as the other keys are. */
export function defaultFingerprintKeyFile(dataDir: string): string {
  return `${resolve(dataDir)}-alert-fingerprint.key`;
}

/** The key in its file; undefined when there is no file yet. */
function readFingerprintKey(file: string): Buffer | undefined {
  if (!existsSync(file)) return undefined;
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (key.length < 32) throw new Error(`${file}: an alert fingerprint key is at least 64 hex digits`);
  return key;
}

/** The key in its file, or a fresh one written there owner-only (whole, then renamed) on first start. */
export function loadFingerprintKey(file: string): Buffer {
  const existing = readFingerprintKey(file);
  if (existing) return existing;
  const key = randomBytes(32);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, file);
  return key;
}

/**
 * One node: the key in its file. A cluster: one key for every node, so the
 * same alert gets the same fingerprint whichever node evaluates it. A node
 * proposes the key of its file if it has one (the first node of an
 * installation turned into a cluster keeps its fingerprints), else a fresh
 * one, and writes no file.
 */
export async function fingerprintKeyOf(file: string, cluster: ClusterSecrets | undefined): Promise<Buffer> {
  if (!cluster) return loadFingerprintKey(file);
  return cluster.agreed('alert-fingerprint', readFingerprintKey(file) ?? randomBytes(32));
}

const keyText = (key: AlertKey) =>
  JSON.stringify([key.tenant, key.namespace, key.group, Object.entries(key.labels).sort(([a], [b]) => (a < b ? -1 : 1))]);

/** Legacy fingerprints (before keying) are 16 hex digits; keyed ones 20, so the two never meet. */
const legacyLength = 16;
const keyedLength = 20;
const legacyFingerprint = new RegExp(`^[0-9a-f]{${legacyLength}}$`);

/**
 * Alert fingerprints a reader cannot recompute. A plain hash of an alert's
 * labels let a reader who sees `user_id` masked confirm a guessed value by
 * hashing it; an HMAC under a per-installation key does not.
 *
 * Instances are still found by the plain hash (`identityOf`, never shown):
 * an instance keeps the fingerprint it was given when it became active,
 * through restarts and lease hand-overs, so alerts stored before the change
 * keep theirs until they resolve (dual matching), and a node with another
 * key never renames an instance it takes over.
 */
export class AlertFingerprints {
  constructor(private readonly key: Buffer) {}

  /** How the engine finds an instance again; the fingerprint of alerts stored before keying. Never shown. */
  static identityOf(key: AlertKey): string {
    return createHash('sha256').update(keyText(key)).digest('hex').slice(0, legacyLength);
  }

  /** The fingerprint of a new instance. */
  of(key: AlertKey): string {
    return createHmac('sha256', this.key).update(keyText(key)).digest('hex').slice(0, keyedLength);
  }

  /** A stored fingerprint as the API shows it: a legacy (recomputable) one is keyed on the way out. */
  shown(stored: string): string {
    if (!legacyFingerprint.test(stored)) return stored;
    return createHmac('sha256', this.key).update(`legacy\0${stored}`).digest('hex').slice(0, keyedLength);
  }
}
