import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export const testAdminToken = 'test-admin-token-0123456789';

export interface RunningMeshlog {
  url: string;
  dataDir: string;
  token: string;
  process: ChildProcess;
  /** Everything the process printed so far. */
  output: () => string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop: () => Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill: () => Promise<void>;
}

export function tempDataDir(prefix = 'meshlog-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Starts the real `meshlog start` in a child process on a free port and waits until it is ready. */
export async function startMeshlog(options: { dataDir?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<RunningMeshlog> {
  const dataDir = options.dataDir ?? tempDataDir();
  const child = spawn(
    process.execPath,
    [cli, 'start', '--data-dir', dataDir, '--http-port', '0', '--log-level', 'info', ...(options.args ?? [])],
    { env: { ...process.env, MESHLOG_ADMIN_TOKEN: testAdminToken, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`meshlog did not become ready in 60 s:\n${output}`)), 60_000);
    const check = () => {
      const match = /"http":"(http[^"]+)"[^\n]*meshlog is ready/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`meshlog exited with ${code} before it was ready:\n${output}`));
    });
  });

  return {
    url,
    dataDir,
    token: testAdminToken,
    process: child,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
