import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A tmpfs of `sizeMiB` mounted on a fresh directory. The tests run as root
 * (here and in CI); a mount that fails fails the test instead of skipping it.
 */
export function mountTmpfs(sizeMiB: number): { dir: string; unmount: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'meshlog-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', dir]);
  return {
    dir,
    unmount: () => {
      // A process that just exited may still hold the mount for a moment.
      for (let attempt = 0; ; attempt++) {
        const result = spawnSync('umount', [dir], { encoding: 'utf8' });
        if (result.status === 0) break;
        if (attempt >= 20) throw new Error(`could not unmount ${dir}: ${result.stderr}`);
        execFileSync('sleep', ['0.5']);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file until the file system refuses (ENOSPC): nothing is left free for anyone. */
export function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      try {
        for (;;) written += writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
