import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startAgent, waitUntil } from '../../support/agentProcess.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const containerfile = readFileSync(join(repo, 'deploy/container/Containerfile'), 'utf8');

interface Copy {
  from: string | undefined;
  sources: string[];
  destination: string;
}

/** The stages of the Containerfile: WORKDIR and COPY lines (continuation lines joined). */
function stages(): { name: string | undefined; workdir: string; copies: Copy[]; entrypoint: string[] | undefined }[] {
  const out: { name: string | undefined; workdir: string; copies: Copy[]; entrypoint: string[] | undefined }[] = [];
  for (const line of containerfile.replace(/\\\n/g, ' ').split('\n')) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    if (instruction === 'FROM') out.push({ name: /\bAS\s+(\S+)/i.exec(line)?.[1], workdir: '/', copies: [], entrypoint: undefined });
    const stage = out.at(-1);
    if (!stage) continue;
    if (instruction === 'WORKDIR') stage.workdir = rest[0];
    if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(rest.join(' ')) as string[];
    if (instruction === 'COPY') {
      const from = rest.find((word) => word.startsWith('--from='))?.slice('--from='.length);
      const paths = rest.filter((word) => !word.startsWith('--'));
      stage.copies.push({ from, sources: paths.slice(0, -1), destination: paths.at(-1)! });
    }
  }
  return out;
}

const absolute = (workdir: string, path: string) => (path.startsWith('/') ? path : join(workdir, path));

/**
 * No registry is reachable, so the image is not built; its final stage is
 * assembled instead: every file the COPY lines take from the build context
 * must exist, the build stage's outputs are this checkout's build (the same
 * `tsc` and `vite build`), placed where the final stage's COPY lines put them.
 * The ENTRYPOINT then runs from that layout, as server and as agent, and a
 * line shipped by one is stored by the other.
 */
test('the Containerfile: its files exist, and the entrypoint runs meshlog and the agent from the final stage’s layout', async () => {
  const [build, final] = stages();
  assert.ok(build && final && build.name, 'a named build stage and a final stage');
  for (const copy of build.copies)
    for (const source of copy.sources) assert.ok(existsSync(join(repo, source)), `the build context has ${source}`);

  const root = tempDataDir('meshlog-image-');
  const image = join(root, 'image');
  for (const copy of final.copies) {
    for (const source of copy.sources) {
      // The build stage's WORKDIR is this checkout (built); anything else comes from the context.
      const built = copy.from === build.name ? join(repo, source.replace(new RegExp(`^${build.workdir}/?`), '')) : join(repo, source);
      assert.ok(
        existsSync(built),
        `${copy.from ? `the build stage produces ${source}` : `the build context has ${source}`} (run tsc and npm run build:web)`,
      );
      // `COPY a b/` puts a inside b.
      const destination = absolute(final.workdir, copy.destination);
      const target = join(image, copy.destination.endsWith('/') ? join(destination, basename(source)) : destination);
      mkdirSync(dirname(target), { recursive: true });
      // node_modules is linked, not copied: its content is the build's either way.
      if (source.endsWith('node_modules')) symlinkSync(built, target);
      else cpSync(built, target, { recursive: true });
    }
  }
  assert.deepEqual(final.entrypoint?.slice(0, 1), ['node']);
  const cli = join(image, final.entrypoint![1]);
  assert.ok(existsSync(cli), `the entrypoint ${final.entrypoint![1]} is in the image`);

  const meshlog = await startMeshlog({ cli });
  try {
    const ui = await fetch(`${meshlog.url}/ui`);
    assert.match(await ui.text(), /<html/i, 'the web UI is served from the image');
    mkdirSync(join(root, 'logs'));
    const path = join(root, 'logs', 'app.log');
    cpSync(join(repo, 'package.json'), path);
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '').length;
    const agent = await startAgent(
      { server: meshlog.url, token: meshlog.token, data_dir: join(root, 'agent-data'), files: [{ paths: [path] }] },
      { cli },
    );
    try {
      await waitUntil('the file is acknowledged', async () => (await agent.sources()).some((source) => source.lines_acked === lines));
    } finally {
      await agent.stop();
    }
  } finally {
    await meshlog.stop();
  }
});
