import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { defaultQueryLimits, type QueryContext, type QueryMasking } from '../../../src/query/logql/queryContext.js';
import { logQueryRunner } from '../../../src/storage/logs/logQueries.js';
import { Storage } from '../../../src/storage/engine/storage.js';
import { tempDataDir } from '../../support/meshlogProcess.js';
import { answerLogql, pushdownFailures, type LogqlAnswer } from '../../support/pushdownComparison.js';

/**
 * `| json | <label filters>` decided in ClickHouse (jsonFilterSql.ts) gives the
 * engine's answer: lines built to trip the SQL side (escapes, unicode, NUL,
 * duplicate and nested keys, numbers JavaScript and ClickHouse might read
 * apart, booleans, null, keys with dots and dashes, a key that is also a stream
 * label or structured metadata, broken JSON, keys spelling `__error__`) are
 * queried with query.pushdown on and off over the real embedded ClickHouse, and
 * the answers (or errors) must be identical.
 */
const tenant = 'jsonsql';
const secondNs = 1_000_000_000n;
const startNs = 1_767_200_000n * secondNs;
let storage: Storage;

const jsonLines = [
  '{"status":503,"path":"/a","user":{"id":"alice"}}',
  '{"status":200,"path":"/b"}',
  '{"status":"503","path":"/c"}',
  '{"status":"500.5"}',
  '{"status":"12.50"}',
  '{"st\\u0061tus":503}',
  '{"status":"caf\\u00e9"}',
  '{"status":"\\u0000"}',
  '{"status":"\\u0035\\u0030\\u0033"}',
  '{"msg":"naïve ☃ 𝄞","status":501}',
  '{"status":"ü"}',
  '{"status":200,"status":503}',
  '{"status":503,"status":200}',
  '{"a":{"status":1}}',
  '{"status":1e3}',
  '{"status":5e2}',
  '{"status":1E2}',
  '{"status":1e400}',
  '{"status":-0}',
  '{"status":"-0"}',
  '{"status":"0x10"}',
  '{"status":0.1}',
  '{"status":0.30000000000000004}',
  '{"status":" 500"}',
  '{"status":"500 "}',
  '{"status":"+500"}',
  '{"status":""}',
  '{"status":12345678901234567890}',
  '{"status":9007199254740993}',
  '{"status":999999999999999}',
  '{"status":1e21}',
  '{"status":1e-7}',
  '{"status":123456789012345.6}',
  '{"status":true}',
  '{"status":false}',
  '{"status":null}',
  '{"status":[503]}',
  '{"status":{"code":503}}',
  '{"status":{}}',
  '{"status":\t511}',
  '{"user.id":"alice"}',
  '{"user-id":"bob"}',
  '{"user":{"name":"x","id":"carol"}}',
  '{"user_id":"dave"}',
  '{"user_id":"erin","user":{"id":"frank"}}',
  '{"user":{"id":"gina"},"user_id":"hank"}',
  '{"user_id":"ivy","note":"user_id is mine"}',
  '{"user_id":7}',
  '{"msg":"status","code":1}',
  '{"latency":"250ms","size":"1.5KB"}',
  '{"latency":"1.5s"}',
  '{"latency":250}',
  '{"latency":"1h2m"}',
  '{"latency":"0"}',
  '{"error":"boom","status":502}',
  '{"__error__":"x","status":504}',
  '{"_":{"error__":"y"},"status":505}',
  '{"ok":true,"status":509}',
  '{"ok":"false"}',
  'not json status=503',
  '{"status":503',
  '{"status":503} trailing',
  '[{"status":503}]',
  '"status"',
  '503',
  ' \t\r\n{"status":506}',
  '\uFEFF{"status":507}',
  '{"status":508}  ',
  '',
];

/** [query, whether SQL must decide it] */
const cases: [string, boolean][] = [
  ['{service_name="json"} | json | status >= 500', false],
  ['{service_name="json"} | json | status == 503', false],
  ['{service_name="json"} | json | status != 200', false],
  ['{service_name="json"} | json | status < 0', false],
  ['{service_name="json"} | json | status <= 12.5', false],
  ['{service_name="json"} | json | status > 100 or path="/b"', false],
  ['{service_name="json"} | json | status >= 500 and path!=""', false],
  ['{service_name="json"} | json | status >= 500, path!=""', false],
  ['{service_name="json"} | json | status >= 500 | __error__=""', false],
  ['{service_name="json"} | json | status >= 500 | __error__!=""', false],
  ['{service_name="json"} | json | __error__=""', false],
  ['{service_name="json"} | json | __error__="JSONParserErr"', false],
  ['{service_name="json"} | json | __error__=~".+"', false],
  ['{service_name="json"} | json | __error_details__!=""', false],
  ['{service_name="json"} | json | status="503"', true],
  ['{service_name="json"} | json | status=~"5.."', true],
  ['{service_name="json"} | json | status!~"2.*"', true],
  ['{service_name="json"} | json | status=""', true],
  ['{service_name="json"} | json | status!=""', true],
  ['{service_name="json"} | json | status="true"', true],
  ['{service_name="json"} | json | status="1000"', true],
  ['{service_name="json"} | json | status=~"9007199254740993|12345678901234567890|1e21|1e-7|123456789012345.6"', true],
  ['{service_name="json"} | json | status!~"9007199254740993|12345678901234567890|1e21"', true],
  ['{service_name="json"} | json | status > 1e20', false],
  ['{service_name="json"} | json | status=~".*é.*|ü"', true],
  ['{service_name="json"} | json | ok="false"', true],
  ['{service_name="json"} | json | user_id="alice"', true],
  ['{service_name="json"} | json | user_id=~"[a-i].*|7"', true],
  ['{service_name="json"} | json | user_id!=""', true],
  ['{service_name="json"} | json | user_id > 5', false],
  ['{service_name="json"} | json | latency > 100ms', false],
  ['{service_name="json"} | json | latency >= 250', false],
  ['{service_name="json"} | json | msg="naïve ☃ 𝄞"', true],
  ['{service_name="json"} | json | status >= 500, path!="/z" | __error__=""', false],
  ['{service_name="json"} | json | path!="/z" | __error__!="" or __error_details__=~".+"', true],
  ['{service_name="json"} | json | latency > 100ms or user_id="dave"', false],
  ['{service_name="json"} | json | status <= 12.5 or ok="true"', false],
  ['{service_name="json"} | json | status >= 500 | json', false],
  ['{service_name="json"} | json | size > 1KB', false],
  ['{service_name="json"} | json | status_extracted="200"', false],
  ['{service_name="json"} | json | level="info"', false],
  ['{service_name="json"} | json | status >= 500 | line_format "{{.path}}"', false],
  ['{service_name="json"} |= "status" | json | status > 0', false],
  ['sum by (status) (count_over_time({service_name="json"} | json | status >= 500 [5m]))', false],
  ['max_over_time({service_name="json"} | json | status >= 500 | unwrap status | __error__="" [5m]) by (path)', false],
];

before(async () => {
  storage = await Storage.open({ dataDir: tempDataDir('meshlog-jsonsql-'), database: 'meshlog' }, pino({ level: 'silent' }));
  type Row = { tenant?: string; service: string; body: string; resource?: Record<string, string>; attributes?: Record<string, string> };
  const rows: Row[] = [
    ...jsonLines.map((body) => ({ service: 'json', body })),
    // A stream label and structured metadata named like parsed ones: those parsed values become *_extracted.
    { service: 'json', body: '{"status":200}', resource: { status: '503' } },
    { service: 'json', body: '{"user_id":"zed"}', attributes: { user_id: 'meta' } },
    { service: 'json', body: '{"status":530}', attributes: { 'error.kind': 'x' } },
    // Many lines that pass, for the LIMIT; and lines SQL cannot decide that fail, for the row budget.
    ...Array.from({ length: 300 }, (_, i) => ({ service: 'many', body: `{"status":500,"seq":${i}}` })),
    ...Array.from({ length: 3000 }, () => ({ service: 'undecided', body: '{"status":"\\u0032\\u0030\\u0030"}' })),
    // Another tenant's lines that would pass.
    ...Array.from({ length: 20 }, () => ({ tenant: 'intruder', service: 'json', body: '{"status":599,"secret":"other-tenant"}' })),
  ];
  const values = rows.map((row, index) => ({
    tenant: row.tenant ?? tenant,
    timestamp: `${startNs / secondNs}.${String(index + 1).padStart(9, '0')}`,
    observed_timestamp: `${startNs / secondNs}.${String(index + 1).padStart(9, '0')}`,
    service_name: row.service,
    body: row.body,
    resource_attributes: { 'service.name': row.service, ...row.resource },
    log_attributes: row.attributes ?? {},
  }));
  await storage.client.insert({
    table: 'meshlog.logs',
    values,
    format: 'JSONEachRow',
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  });
});
after(async () => {
  await storage.close();
});

async function run(
  query: string,
  pushdown: boolean,
  options: { limit?: number; maxEngineRows?: number; masking?: QueryMasking } = {},
): Promise<LogqlAnswer> {
  const ctx: QueryContext = {
    database: 'meshlog',
    tenant,
    runner: logQueryRunner(storage, { maxExecutionSeconds: 60 }),
    limits: { ...defaultQueryLimits, pushdown, maxEngineRows: options.maxEngineRows ?? defaultQueryLimits.maxEngineRows },
    plan: [],
    rowsRead: 0,
    bytesRead: 0,
    masking: options.masking,
  };
  return answerLogql(query, ctx, { startNs, endNs: startNs + 120n * secondNs }, options.limit ?? 5000);
}

const decidedStep = /decided in SQL/;

test('json label filters decided in SQL give the engine results over lines built to trip SQL', async () => {
  const failures = await pushdownFailures(
    cases,
    (query, pushdown) => run(query, pushdown),
    (pushed, engine, [query, decided]) => {
      assert.equal(
        pushed.plan.some((step) => decidedStep.test(step)),
        decided,
        `${query}: plan ${pushed.plan.join('; ')}`,
      );
      // Fewer where lines fail (`__error__=""` keeps nearly all); the LIMIT test below shows the saving.
      assert.ok(pushed.rowsRead <= engine.rowsRead, `${query}: ${pushed.rowsRead} rows read, engine ${engine.rowsRead}`);
    },
  );
  assert.deepEqual(failures, []);
});

test('lines a json string matcher rejects stay in ClickHouse when SQL decides it', async () => {
  const query = '{service_name="many"} | json | status="500", seq="7"';
  const engine = await run(query, false, { limit: 10 });
  const pushed = await run(query, true, { limit: 10 });
  assert.deepEqual(pushed.result, engine.result);
  assert.match(JSON.stringify(pushed.result), /"seq":"7"/);
  assert.equal(pushed.rowsRead, 1);
  assert.equal(engine.rowsRead, 300);
});

test('attack: json filters decided in SQL return no other tenant’s lines', async () => {
  const pushed = await run('{service_name="json"} | json | secret="other-tenant" or status="503"', true);
  assert.ok(pushed.plan.some((step) => decidedStep.test(step)));
  assert.doesNotMatch(JSON.stringify(pushed.result), /other-tenant/);
  assert.match(JSON.stringify(pushed.result), /"status":"503"/);
});

test('attack: a reader who sees masked values keeps the engine path for json filters', async () => {
  const masking: QueryMasking = {
    labels: { isSensitive: (label) => label === 'path', anyValue: false, markers: ['[MASKED]'], marker: '[MASKED]' },
    maskEntry: () => {},
  };
  const query = '{service_name="json"} | json | status >= 500';
  const masked = await run(query, true, { masking });
  assert.ok(!masked.plan.some((step) => decidedStep.test(step)), masked.plan.join('; '));
  assert.deepEqual(masked.result, (await run(query, false, { masking })).result);
});

test('attack: lines SQL cannot decide still count against the engine row limit, on both paths alike', async () => {
  const query = '{service_name="undecided"} | json | status >= 500';
  const engine = await run(query, false, { maxEngineRows: 1500, limit: 10 });
  const pushed = await run(query, true, { maxEngineRows: 1500, limit: 10 });
  assert.match(JSON.stringify(engine.result), /the query read more than 1500 rows/);
  assert.deepEqual(pushed.result, engine.result);
  // Within the limit both answer, with nothing: every line is "200" once unescaped.
  assert.deepEqual((await run(query, true, { maxEngineRows: 5000 })).result, []);
});
