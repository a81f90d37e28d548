import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this bench was built from (dist/bench/ → the repository root). */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/**
 * Builds git revision `rev` of this repository into a temporary directory
 * (its files, this checkout's node_modules, tsc) and returns the path of its
 * CLI, so a bench can run the baseline server beside the current one. The
 * caller removes `dir` when done.
 */
export function buildBaseline(rev: string): { commit: string; cli: string; dir: string } {
  const commit = run('git', ['rev-parse', '--verify', `${rev}^{commit}`], repoRoot).trim();
  const dir = mkdtempSync(join(tmpdir(), `meshlog-baseline-${commit.slice(0, 8)}-`));
  const archive = spawnSync('git', ['archive', '--format=tar', commit], { cwd: repoRoot, maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`git archive ${commit} failed: ${archive.stderr.toString()}`);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr.toString()}`);
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], dir);
  const cli = join(dir, 'dist/src/cli/main.js');
  if (!existsSync(cli)) throw new Error(`${rev} built no ${cli}`);
  return { commit, cli, dir };
}
