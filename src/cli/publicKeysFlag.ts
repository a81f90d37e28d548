import { existsSync, readFileSync } from 'node:fs';

/**
 * A `--public-key` value: a C2SP verifier key string, or a file holding one
 * a line (a cluster's published key set, GET /api/v1/integrity/public-keys);
 * throws when it names none.
 */
export function publicKeysFlag(candidate: string): string[] {
  const keys = existsSync(candidate)
    ? readFileSync(candidate, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '')
    : candidate.includes('+')
      ? [candidate]
      : [];
  if (keys.length === 0) throw new Error(`no verifier key: ${candidate} does not exist or is empty (pass --public-key FILE|KEY)`);
  return keys;
}
