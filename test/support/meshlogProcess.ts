import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { testTempDir } from './testTempDir.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export const testAdminToken = 'test-admin-token-0123456789';

export interface RunningMeshlog {
  url: string;
  /** Bound `host:port` of every non-HTTP listener, by name (forward, syslog_tcp…). */
  listeners: Record<string, string>;
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

/** Every TCP/UDP listener on a free port, so test processes never collide on 24224, 5514, 4317… */
const freeListenerPorts = {
  MESHLOG_FORWARD_PORT: '0',
  MESHLOG_SYSLOG_TCP_PORT: '0',
  MESHLOG_SYSLOG_UDP_PORT: '0',
  MESHLOG_SYSLOG_TLS_PORT: '0',
  MESHLOG_OTLP_GRPC_PORT: '0',
};

/** Access reviews start on their own only in tests of the schedule: elsewhere they would be audit events no test made. */
const noScheduledReviews = { MESHLOG_ACCESS_REVIEW_AUTO_START: 'false' };

// A test that fails before stopping its server must not leave it running (it
// would keep the test process, and so the whole suite, waiting). Once the
// file's tests are done, a server still running 15 s later (after the file's
// own after hooks had their chance to stop it) is killed; the timer itself
// never holds the process open.
const running = new Set<ChildProcess>();
// Benchmarks start servers through this module too, outside the test runner.
const killRunning = () => {
  for (const child of running) child.kill('SIGKILL');
};
if (process.env.NODE_TEST_CONTEXT) {
  after(() => setTimeout(killRunning, 15_000).unref());
  // Registered before any data dir is made, so servers die before their dirs are removed.
  process.on('exit', killRunning);
}

/** A fresh data dir, removed when the test process exits (see testTempDir). */
export function tempDataDir(prefix = 'meshlog-test-'): string {
  return testTempDir(prefix);
}

/**
 * Starts the real `meshlog start` in a child process on a free port and waits
 * until it is ready (the ready line is logged at info: keep --log-level ≤ info).
 */
export async function startMeshlog(
  options: { dataDir?: string; args?: string[]; env?: NodeJS.ProcessEnv; nodeArgs?: string[]; cli?: string } = {},
): Promise<RunningMeshlog> {
  const dataDir = options.dataDir ?? tempDataDir();
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      options.cli ?? cli,
      'start',
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--log-level',
      'info',
      ...(options.args ?? []),
    ],
    {
      env: { ...process.env, MESHLOG_ADMIN_TOKEN: testAdminToken, ...freeListenerPorts, ...noScheduledReviews, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  running.add(child);
  child.once('exit', () => running.delete(child));

  const ready = await new Promise<{ http: string; listeners: Record<string, string> }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`meshlog did not become ready in 180 s:\n${output}`));
      // About 1 s on an idle machine; the bound only catches a start that hangs, however busy the machine.
    }, 180_000);
    const check = () => {
      const line = output.split('\n').find((candidate) => candidate.includes('"msg":"meshlog is ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`meshlog exited with ${code} before it was ready:\n${output}`));
    });
  });

  return {
    url: ready.http,
    listeners: ready.listeners,
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
