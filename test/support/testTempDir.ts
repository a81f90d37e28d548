import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

// A full suite makes about a thousand data dirs of 100–200 MB each: kept, they
// filled this machine's disk in two runs (and the SOC 2 report's capacity
// section then failed its own test). Each test process removes what it made
// when it exits; a dir a test must keep is made with mkdtempSync instead.
const made: string[] = [];

function removeMade(): void {
  // meshlog keeps its key files and deletion ledger beside the data dir (`<dir>-storage.keys`…).
  const besideMade = readdirSync(tmpdir()).filter((name) => made.some((dir) => name.startsWith(`${basename(dir)}-`)));
  for (const path of [...made, ...besideMade.map((name) => join(tmpdir(), name))]) {
    try {
      rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch {
      // A server this process started may still be writing into it: the OS's tmp cleaning takes the rest.
    }
  }
}

/** A fresh directory under the OS temp dir, removed when this test process exits. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (made.length === 0 && process.env.NODE_TEST_CONTEXT) process.on('exit', removeMade);
  made.push(dir);
  return dir;
}
