import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import type { LogQuery } from '../../../src/query/logql/ast.js';
import { compileLogRows, type LogRow } from '../../../src/query/logql/compiler.js';
import { parseLogql } from '../../../src/query/logql/parser.js';
import { migrations } from '../../../src/storage/engine/migrations.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { bodyWordsSql, indexedWords } from '../../../src/storage/logs/bodyWordsIndex.js';
import { logQueryRunner } from '../../../src/storage/logs/logQueries.js';
import { tempDataDir } from '../../support/meshlogProcess.js';

/**
 * The body's text index covers the body without its digits (bodyWordsIndex.ts). A line filter prefilters with
 * the words of its needle the index is sure to hold, then the exact substring check decides: every needle must
 * find exactly the lines that contain it, in the real engine, whatever mix of digits, words, edges, case and
 * non-ASCII it has.
 */
const tenant = 'text-index';
const startNs = 1_795_000_000n * 1_000_000_000n;
const range = { startNs, endNs: startNs + 3_600_000_000_000n };
/** Enough filler lines around the ones searched for that the index has granules to skip (8,192 rows each). */
const fillerRows = 40_000;

const lines = [
  'GET /api/v1/users 200 req=7f3a91bc-22de',
  'GET /api/v12/users 503 upstream timeout',
  'user 42 logged in from 10.0.0.7:8080',
  'user 421 logged in',
  'error42 at boot',
  'errors: 3 timeouts',
  'Timeout after 30s',
  'TIMEOUT after 30s',
  'naïve café closed at 9',
  'café42 opened',
  'x86_64 kernel 6.1.0-13-amd64',
  'status=503 path=/pay duration=12ms',
  'status=5030 path=/pay',
  'trace abc123def ended',
  'trace abc ended',
  'key=ab12cd34 value=ok',
  '日本語 ログ 503 エラー',
  'a-b c_d e.f',
];

const needles = [
  'users 200 req',
  'users 503 up',
  ' 42 logged',
  'user 42 logged in',
  'logged in from 10',
  'error42',
  'error',
  ' at ',
  'timeout',
  'Timeout',
  ' Timeout ',
  'TIMEOUT after',
  'after 30s',
  '503',
  ' 503 ',
  '=503 ',
  'status=503 path',
  'abc123def',
  'trace abc ',
  ' abc123def ',
  'abc',
  'ab12cd34 value',
  '=ab12cd34 ',
  'naïve café',
  ' café',
  'café42 opened',
  '_64 kernel',
  'x86_64 kernel 6',
  '-amd',
  'ログ 503 エ',
  ' ログ ',
  'c_d e',
  'nowhere',
  ' nowhere at all ',
];

let storage: Storage;

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-text-index-'), database: 'meshlog' }, pino({ level: 'silent' }));
  // Filler lines first and last, the searched ones in between: one part, the searched lines in one granule.
  const filler = (from: number) =>
    storage.client.command({
      query: `INSERT INTO meshlog.logs (tenant, timestamp, service_name, body)
        SELECT {tenant:String}, fromUnixTimestamp64Nano(toInt64({start:Int64} + number * 1000000)), 'svc',
          concat('request served id ', lower(hex(MD5(toString(number)))), ' in ', toString(number % 900), ' ms')
        FROM numbers({from:UInt64}, {count:UInt64})`,
      query_params: { tenant, start: startNs.toString(), from, count: fillerRows / 2 },
    });
  await filler(0);
  await storage.client.insert({
    table: 'meshlog.logs',
    format: 'JSONEachRow',
    values: lines.map((body, n) => ({
      tenant,
      timestamp: String(startNs + BigInt(fillerRows / 2 + n) * 1_000_000n),
      service_name: 'svc',
      body,
    })),
  });
  await filler(fillerRows / 2 + lines.length);
  await storage.client.command({ query: 'OPTIMIZE TABLE meshlog.logs FINAL' });
});
after(async () => {
  await storage.close();
});

async function search(needle: string): Promise<string[]> {
  const query = parseLogql(`{service_name="svc"} |= ${JSON.stringify(needle)}`) as LogQuery;
  const compiled = compileLogRows(query, { database: 'meshlog', tenant, ...range }, { direction: 'forward', limit: 1_000_000, offset: 0 });
  const rows = await logQueryRunner(storage, { maxExecutionSeconds: 60 }).run<LogRow>(compiled);
  return rows.map((row) => row.body).filter((body) => !body.startsWith('request served id '));
}

test('every line filter finds exactly the lines containing its needle, with digits, words, edges, case and non-ASCII', async () => {
  for (const needle of needles) {
    assert.deepEqual(
      await search(needle),
      lines.filter((line) => line.includes(needle)),
      `|= ${JSON.stringify(needle)} (index words ${JSON.stringify(indexedWords(needle))})`,
    );
  }
});

test('the words of a needle are whole tokens of the indexed text of every line containing it', async () => {
  const [{ tokens }] = await storage.rows<{ tokens: string[][] }>(
    `SELECT groupArray(tokens(${bodyWordsSql}, 'splitByNonAlpha')) AS tokens FROM (SELECT arrayJoin({lines:Array(String)}) AS body)`,
    { lines },
  );
  for (const needle of needles)
    lines.forEach((line, n) => {
      if (line.includes(needle))
        for (const word of indexedWords(needle)) assert.ok(tokens[n].includes(word), `${word} of ${needle} in ${line}`);
    });
  assert.deepEqual(indexedWords('user 42 logged in'), ['logged']);
  assert.deepEqual(indexedWords('x86_64 kernel 6'), ['kernel']);
  assert.deepEqual(indexedWords('key=ab12cd34 value'), ['ab', 'cd']);
  assert.deepEqual(indexedWords('naïve café'), []);
  assert.deepEqual(indexedWords(' ログ '), []);
});

test('a word search reads only the granules whose indexed words hold it', async () => {
  const explain = await storage.rows<{ explain: string }>(
    `EXPLAIN indexes = 1 SELECT count() FROM meshlog.logs WHERE tenant = {tenant:String}
       AND hasAllTokens(${bodyWordsSql}, ['timeouts']) AND body LIKE '%timeouts%'`,
    { tenant },
  );
  const text = explain.map((row) => row.explain).join('\n');
  const used = /Name: idx_body_words[\s\S]*?Granules: (\d+)\/(\d+)/.exec(text);
  assert.ok(used, text);
  assert.equal(Number(used[1]), 1, text);
  assert.ok(Number(used[2]) > 1, text);
});

test('migration 30 indexes the expression the query side searches with', () => {
  const migration = migrations.find((m) => m.version === 30)!;
  const squeeze = (sql: string) => sql.replace(/\s+/g, ' ');
  assert.ok(
    migration.statements.some((statement) => squeeze(statement).includes(`ADD INDEX IF NOT EXISTS idx_body_words (${bodyWordsSql})`)),
    'migration 30 indexes bodyWordsSql',
  );
});
