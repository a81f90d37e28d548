import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { tempDataDir } from '../../support/meshlogProcess.js';
import { groupingAccuracy, loghubLines } from '../../support/loghub.js';
import { DrainMiner } from '../../../src/pipeline/patterns/drainMiner.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

function mine(args: string[], input?: string): string[][] {
  const run = spawnSync(process.execPath, [cli, 'patterns', 'mine', ...args, '--output', 'csv'], {
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(run.status, 0, run.stderr);
  return parse(run.stdout) as string[][];
}

test('meshlog patterns mine: one CSV row per input line, quoted where needed, with final templates', () => {
  const lines = ['disk "sda1" is 91% full, 2 GiB left', 'disk "sdb2" is 97% full, 1 GiB left', '', 'user alice logged in'];
  const rows = mine(['-'], lines.join('\n'));
  assert.deepEqual(rows[0], ['line_number', 'pattern_id', 'template']);
  assert.equal(rows.length, 1 + lines.length);
  assert.deepEqual(
    rows.slice(1).map((row) => row[0]),
    ['1', '2', '3', '4'],
  );
  assert.equal(rows[1][1], rows[2][1]);
  assert.notEqual(rows[1][1], rows[4][1]);
  // The first line's template is the one it ended with, after the second line generalized it (a size is one variable with its unit).
  assert.equal(rows[1][2], 'disk <*> is <*> full <*> left');
  assert.equal(rows[3][2], '');
  assert.equal(rows[4][2], 'user alice logged in');
});

test('meshlog patterns mine over a file groups lines as the ingest miner does (Loghub Zookeeper)', () => {
  const labelled = loghubLines('Zookeeper');
  const file = join(tempDataDir('meshlog-mine-'), 'zookeeper.txt');
  writeFileSync(file, labelled.map((line) => line.content).join('\n') + '\n');
  const rows = mine([file]).slice(1);
  assert.equal(rows.length, labelled.length);
  const miner = new DrainMiner();
  assert.deepEqual(
    rows.map((row) => row[1]),
    labelled.map((line) => miner.add(line.content).id),
  );
  assert.ok(
    groupingAccuracy(
      labelled.map((line) => line.eventTemplate),
      rows.map((row) => row[1]),
    ) >= 0.99,
  );
});

test('meshlog patterns mine refuses a similarity outside [0, 1]', () => {
  const run = spawnSync(process.execPath, [cli, 'patterns', 'mine', '-', '--similarity', '2'], { input: 'x\n', encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /--similarity must be between 0 and 1/);
});
