import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { tempDataDir } from './meshlogProcess.js';
import { waitFor } from './waitFor.js';

/** One nats-server of the test cluster; stop and start keep its ports and its JetStream store. */
export interface NatsNode {
  url: string;
  /** The running server's process id (its CPU and memory in /proc), undefined while it is stopped. */
  pid: () => number | undefined;
  start: () => Promise<void>;
  /** SIGKILL: the server dies as in a crash. */
  kill: () => Promise<void>;
}

export interface NatsCluster {
  nodes: NatsNode[];
  urls: string[];
  stop: () => Promise<void>;
}

/** A TCP port nothing listens on right now (for a process that must keep its port across restarts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
if (process.env.NODE_TEST_CONTEXT)
  after(() => {
    setTimeout(() => {
      for (const child of running) child.kill('SIGKILL');
    }, 15_000).unref();
  });

/**
 * A real JetStream cluster of `size` nats-server processes on loopback
 * (the Debian package; scripts/install-test-peers.sh installs it); `size` 1 is
 * a lone server (streams of one replica only). Resolves
 * once JetStream answers, i.e. the cluster has elected its meta leader.
 * `config`: more server configuration (accounts and users); `credentials`: a user of it that has JetStream.
 */
export async function startNatsCluster(
  size = 3,
  options: { config?: string; credentials?: { user: string; pass: string } } = {},
): Promise<NatsCluster> {
  const dir = tempDataDir('meshlog-nats-');
  const clientPorts = await Promise.all(Array.from({ length: size }, freePort));
  const routePorts = await Promise.all(Array.from({ length: size }, freePort));
  const nodes = clientPorts.map((clientPort, index): NatsNode => {
    const name = `n${index + 1}`;
    const store = join(dir, name);
    mkdirSync(store, { recursive: true });
    const configFile = join(dir, `${name}.conf`);
    const routes = routePorts.filter((_, other) => other !== index).map((port) => `nats-route://127.0.0.1:${port}`);
    writeFileSync(
      configFile,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${clientPort}`,
        `jetstream { store_dir: "${store}" }`,
        // A lone server with a cluster block refuses to start JetStream ("JetStream cluster requires configured routes").
        size > 1 ? `cluster { name: meshlog-test, listen: 127.0.0.1:${routePorts[index]}, routes: [${routes.join(', ')}] }` : '',
        options.config ?? '',
        '',
      ].join('\n'),
    );
    let child: ChildProcess | undefined;
    let output = '';
    const node: NatsNode = {
      url: `nats://127.0.0.1:${clientPort}`,
      pid: () => (child && child.exitCode === null ? child.pid : undefined),
      start: async () => {
        output = '';
        const started = spawn('nats-server', ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
        child = started;
        running.add(started);
        started.once('exit', () => running.delete(started));
        started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        await waitFor(
          () => {
            if (started.exitCode !== null) throw new Error(`nats-server ${name} exited:\n${output}`);
            return output.includes('Server is ready');
          },
          { what: `nats-server ${name} ready` },
        );
      },
      kill: async () => {
        const current = child;
        if (!current || current.exitCode !== null) return;
        const exited = new Promise((resolve) => current.once('exit', resolve));
        current.kill('SIGKILL');
        await exited;
      },
    };
    return node;
  });
  await Promise.all(nodes.map((node) => node.start()));
  const urls = nodes.map((node) => node.url);
  const probe = await connect({ servers: urls, ...options.credentials });
  try {
    await waitFor(
      async () => {
        try {
          const manager = await jetstreamManager(probe, { timeout: 2000 });
          await manager.getAccountInfo();
          return true;
        } catch {
          return false;
        }
      },
      { what: 'the JetStream cluster to elect its meta leader', intervalMs: 250 },
    );
  } finally {
    await probe.close();
  }
  return { nodes, urls, stop: async () => void (await Promise.all(nodes.map((node) => node.kill()))) };
}
