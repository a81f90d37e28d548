import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AdminToken {
  token: string;
  /** Where the token came from, for the startup log (never the token itself). */
  source: string;
  /** The file it is kept in (not when it came from MESHLOG_ADMIN_TOKEN), and whether this start wrote it. */
  file?: string;
  generated?: boolean;
}

/**
 * The bootstrap admin token: MESHLOG_ADMIN_TOKEN if set, else the one kept in
 * <data-dir>/admin-token, else a new random one written there with mode 0600.
 */
export function loadAdminToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): AdminToken {
  const fromEnv = env.MESHLOG_ADMIN_TOKEN;
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error('MESHLOG_ADMIN_TOKEN must be at least 16 characters');
    return { token: fromEnv, source: 'MESHLOG_ADMIN_TOKEN' };
  }
  const path = join(dataDir, 'admin-token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), source: path, file: path, generated: false };
  const token = `mlk_${randomBytes(32).toString('base64url')}`;
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, source: `${path} (generated)`, file: path, generated: true };
}
