import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface RunningJournald {
  /** Where the journal files are written (`journalctl --directory`). */
  directory: string;
  /** Writes lines through `systemd-cat -t <identifier>` (a `<N>` prefix sets the syslog priority). */
  write: (text: string) => void;
  stop: () => Promise<void>;
}

// In a private mount namespace, systemd-journald's sockets (/run/systemd) are its own and its
// runtime journal (/run/log/journal) lands in the test's directory; systemd-cat writes to it.
const script = `set -e
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/journal /run/log
mount --bind "$JOURNAL_ROOT" /run/log
/lib/systemd/systemd-journald &
journald=$!
while [ ! -S /run/systemd/journal/stdout ]; do sleep 0.05; done
echo ready
systemd-cat -t "$IDENTIFIER" || true
kill $journald
wait $journald || true`;

/**
 * Runs the real systemd-journald (Debian's systemd package) for one test,
 * isolated by `unshare -m`, so tests read a journal that journald itself
 * wrote, not a hand-made imitation. Needs root (CAP_SYS_ADMIN) for the mounts.
 */
export async function startJournald(root: string, identifier: string): Promise<RunningJournald> {
  const journalRoot = join(root, 'run-log');
  mkdirSync(journalRoot, { recursive: true });
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], {
    env: { ...process.env, JOURNAL_ROOT: journalRoot, IDENTIFIER: identifier },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => output.includes('ready\n') && resolve());
    child.once('exit', (code) => reject(new Error(`systemd-journald did not start (exit ${code}):\n${output}`)));
  });
  return {
    directory: join(journalRoot, 'journal'),
    write: (text) => void child.stdin!.write(text),
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
