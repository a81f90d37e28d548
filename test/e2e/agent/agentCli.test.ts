import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startAgentWithArgs, waitUntil } from '../../support/agentProcess.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

test("flags for the common case, MESHLOG_TOKEN, and the agent's own /ready and /metrics; stdin shipped until it ends", async () => {
  const root = tempDataDir('meshlog-agent-cli-');
  mkdirSync(join(root, 'a'));
  mkdirSync(join(root, 'b'));
  writeFileSync(join(root, 'a', 'one.log'), 'cli-a-0\ncli-a-1\n');
  writeFileSync(join(root, 'b', 'two.txt'), 'cli-b-0\n');
  const meshlog = await startMeshlog();
  const agent = await startAgentWithArgs(
    [
      '--server',
      meshlog.url,
      '--path',
      join(root, 'a', '*.log'),
      '--path',
      join(root, 'b', '*.txt'),
      '--tenant',
      'team-a',
      '--data-dir',
      join(root, 'state'),
      '--http-port',
      '0',
    ],
    { env: { MESHLOG_TOKEN: meshlog.token } },
  );
  try {
    // Ready once the first look at the globs is done.
    await waitUntil('the agent is ready', async () => (await fetch(`${agent.url}/ready`)).status === 200);
    await waitUntil('both files are acknowledged', async () => (await agent.metric('meshlog_agent_lines_shipped_total')) === 3);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    assert.match(metrics, /^meshlog_agent_lines_read_total 3$/m);
    assert.match(metrics, /^meshlog_agent_buffered_bytes \d+$/m);
    assert.match(metrics, /^meshlog_agent_batches_retried_total 0$/m);
    assert.match(metrics, new RegExp(`^meshlog_agent_file_lag_bytes\\{path="${join(root, 'a', 'one.log')}"\\} 0$`, 'm'));
    assert.equal((await fetch(`${agent.url}/nothing`)).status, 404);

    const piped = spawn(
      process.execPath,
      [cli, 'agent', '--stdin', '--server', meshlog.url, '--data-dir', join(root, 'stdin-state'), '--http-port', '0'],
      {
        env: { ...process.env, MESHLOG_TOKEN: meshlog.token },
        stdio: ['pipe', 'ignore', 'inherit'],
      },
    );
    piped.stdin!.end('stdin-0\nstdin-1\nstdin-without-newline');
    const code = await new Promise<number | null>((resolve) => piped.once('exit', (exitCode) => resolve(exitCode)));
    assert.equal(code, 0, 'the agent exits once stdin ended and every line was acknowledged');
  } finally {
    await agent.stop();
    await meshlog.stop();
  }
  const rows = await readCommitted<{ body: string; tenant: string }>(
    meshlog.dataDir,
    'SELECT body, tenant FROM meshlog.logs ORDER BY body',
  );
  assert.deepEqual(
    rows.map((row) => `${row.tenant}/${row.body}`),
    ['team-a/cli-a-0', 'team-a/cli-a-1', 'team-a/cli-b-0', 'default/stdin-0', 'default/stdin-1', 'default/stdin-without-newline'],
  );
});

test('a bad configuration is refused with the key and the value named', () => {
  const root = tempDataDir('meshlog-agent-badconfig-');
  const badUrl = spawnSync(process.execPath, [cli, 'agent', '--server', 'not a url', '--path', '/tmp/x.log', '--data-dir', root], {
    encoding: 'utf8',
  });
  assert.equal(badUrl.status, 2);
  assert.match(badUrl.stderr, /server: .*"not a url"/);
  const nothing = spawnSync(process.execPath, [cli, 'agent', '--data-dir', root], { encoding: 'utf8' });
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /files: nothing to read/);
  const file = join(root, 'agent.yaml');
  writeFileSync(file, 'files:\n  - paths: ["/var/log/*.log"]\nbatch:\n  max_bytes: lots\n');
  const badSize = spawnSync(process.execPath, [cli, 'agent', '--config', file], { encoding: 'utf8' });
  assert.equal(badSize.status, 2);
  assert.match(badSize.stderr, /batch\.max_bytes: not a byte size/);
});
