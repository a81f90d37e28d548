import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface AgentSource {
  key: string;
  path: string;
  active: boolean;
  lines_read: number;
  lines_acked: number;
  read_offset: number;
  acked_offset: number;
  size: number;
}

export interface RunningAgent {
  url: string;
  process: ChildProcess;
  output: () => string;
  sources: () => Promise<AgentSource[]>;
  /** One sample of the agent's /metrics, 0 when absent. */
  metric: (name: string) => Promise<number>;
  stop: () => Promise<number | null>;
  kill: () => Promise<void>;
}

/** Writes the config to <dataDir>/agent.yaml and runs the real `meshlog agent --config` in a child process until it is ready. */
export async function startAgent(
  config: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; stdin?: boolean; nodeArgs?: string[]; cli?: string } = {},
): Promise<RunningAgent> {
  const file = join(String(config.data_dir), '..', `agent-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ http_port: 0, log_level: 'info', ...config }));
  return startAgentWithArgs(['--config', file], options);
}

/** Runs `meshlog agent <args>` until it is ready (the ready line is logged at info). */
export async function startAgentWithArgs(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: boolean; nodeArgs?: string[]; cli?: string } = {},
): Promise<RunningAgent> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.cli ?? cli, 'agent', ...args], {
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const line = output.split('\n').find((candidate) => candidate.includes('"msg":"meshlog agent is ready"'));
      if (line) resolve((JSON.parse(line) as { http: string }).http);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`meshlog agent exited with ${code} before it was ready:\n${output}`)));
  });
  return {
    url,
    process: child,
    output: () => output,
    sources: async () => (await (await fetch(`${url}/sources`)).json()) as AgentSource[],
    metric: async (name) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : 0;
    },
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

/** Polls a condition (the test's timeout bounds the wait): tests wait for states, never for durations. */
export async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
