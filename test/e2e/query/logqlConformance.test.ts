import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  all,
  apiDev,
  apiProd,
  at,
  byId,
  lokiLikeIngest,
  proxy,
  pushConformanceLogs,
  T0s,
  traceId,
  web,
  worker,
} from '../../support/lokiConformanceLogs.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { lokiCall } from '../../support/lokiCall.js';

/**
 * LogQL conformance: a fixed minute of logs pushed through the Loki push API
 * (JSON) into a real server, then queried through /loki/api/v1/query and
 * /query_range. Every expected result is worked out by hand from what Loki's
 * documentation says the query means (range windows are (t − range, t],
 * parsed labels that clash with stream labels get `_extracted`, errors in a
 * metric query fail it, avg/stdvar are Loki's incremental formulas…).
 *
 * The server runs with ingest-time parsing off, so a line's labels are exactly
 * its stream labels and the structured metadata it was pushed with, as in Loki.
 */

const ids = (...names: string[]) => names;
const bytesOf = (...names: string[]) => names.reduce((n, id) => n + Buffer.byteLength(byId.get(id)!.line), 0);
/** Loki's avg_over_time: the incremental mean, in time order. */
const lokiMean = (values: number[]) => values.reduce((mean, value, index) => mean + (value / (index + 1) - mean / (index + 1)), 0);
/** Loki's stdvar_over_time: Welford's method, in time order. */
function lokiVariance(values: number[]): number {
  let mean = 0;
  let aux = 0;
  values.forEach((value, index) => {
    const delta = value - mean;
    mean += delta / (index + 1);
    aux += delta * (value - mean);
  });
  return aux / values.length;
}
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

let meshlog: RunningMeshlog;
const tenant = 'conformance';

const get = (path: string, params: Record<string, string>) => lokiCall(meshlog, tenant, path, params);

before(async () => {
  meshlog = await startMeshlog({ env: lokiLikeIngest });
  await pushConformanceLogs(meshlog, tenant);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

const window = { start: at(0), end: at(60), limit: '1000' };

/** A log query's streams: each stream's values newest first, as Loki's backward direction returns them. */
async function logStreams(query: string): Promise<{ stream: Record<string, string>; values: [string, string][] }[]> {
  const { status, body, text } = await get('/loki/api/v1/query_range', { query, ...window });
  assert.equal(status, 200, `${query}: ${text}`);
  assert.equal(body.status, 'success');
  assert.equal(body.data.resultType, 'streams', query);
  for (const stream of body.data.result) {
    const times = stream.values.map(([ts]: [string]) => BigInt(ts));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)),
      `${query}: values newest first`,
    );
  }
  return body.data.result;
}

/** Runs every case and reports all mismatches at once, so one wrong case never hides the next. */
async function eachCase<T extends unknown[]>(cases: T[], check: (...args: T) => Promise<void>): Promise<void> {
  const failures: string[] = [];
  for (const args of cases) {
    try {
      await check(...args);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed:\n${failures.join('\n\n')}`);
}

/** Expected lines: an id stands for that line as pushed, anything else is the line text itself. */
function expectedLines(expected: string[]): string[] {
  return expected.map((item) => byId.get(item)?.line ?? item);
}

/** [query, lines of every stream merged newest first]; ids may be listed in any order, texts newest first. */
const logCases: [string, string[]][] = [
  // Stream selectors.
  ['{service_name="web"}', ids('w1', 'w2', 'w3', 'w4', 'w5', 'w6')],
  ['{service_name="api"}', ids('a1', 'a2', 'a3', 'a4', 'a5', 'd1', 'd2')],
  ['{service_name="api", env="prod"}', ids('a1', 'a2', 'a3', 'a4', 'a5')],
  ['{service_name="api", env!="prod"}', ids('d1', 'd2')],
  ['{env=~"prod|staging"}', all.filter((id) => !id.startsWith('d'))],
  ['{service_name=~".+", env!~"prod|dev"}', ids('k1', 'k2', 'k3', 'k4')],
  ['{cluster="eu"}', ids('w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'p1', 'p2', 'p3', 'p4', 'p5')],
  ['{cluster=~"u.*"}', ids('a1', 'a2', 'a3', 'a4', 'a5', 'd1', 'd2')],
  ['{service_name=~"w.*"}', ids('w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'k1', 'k2', 'k3', 'k4')],
  ['{service_name=~"(?i)WEB"}', ids('w1', 'w2', 'w3', 'w4', 'w5', 'w6')],
  ['{detected_level="error"}', ids('a3')],
  ['{service_name="nope"}', []],
  // Line filters.
  ['{service_name="web"} |= "alice"', ids('w1', 'w3')],
  ['{service_name="web"} != "alice"', ids('w2', 'w4', 'w5', 'w6')],
  ['{service_name="web"} |~ `"status":[45]\\d\\d`', ids('w2', 'w4', 'w5')],
  ['{service_name="web"} !~ `"status":2\\d\\d`', ids('w2', 'w4', 'w5')],
  ['{service_name="web"} |= `"tier":"gold"`', ids('w1', 'w3')],
  ['{service_name="web"} |= "GET" or "PUT" != "cart"', ids('w1', 'w5', 'w6')],
  ['{service_name="web"} != "GET" != "POST"', ids('w4', 'w6')],
  ['{service_name="proxy"} |= "GET" |= "HTTP/1.1"', ids('p1', 'p4')],
  ['{service_name="proxy"} |= "GET" != "admin"', ids('p1', 'p3')],
  ['{service_name="proxy"} |~ `^10\\.0\\.0\\.1 `', ids('p1', 'p3')],
  ['{service_name="proxy"} |= "10.0.0"', ids('p1', 'p2', 'p3', 'p4')],
  ['{service_name="proxy"} !~ `^10\\.`', ids('p4', 'p5')],
  ['{service_name=~".+"} |= "timeout"', ids('w4', 'a3')],
  ['{service_name=~".+"} |= "timeout" or "panic"', ids('w4', 'a3', 'd2')],
  ['{service_name=~".+"} |~ "job (started|done)"', ids('k1', 'k3')],
  ['{service_name=~".+"} |~ "(?i)worker"', ids('k4')],
  ['{service_name=~".+"} |= "id=17"', ids('k1', 'k2')],
  ['{service_name=~".+"} |= ""', all],
  ['{service_name="worker"} |= "emails"', ids('k1', 'k2')],
  ['{service_name="api"} |= `msg="request served"`', ids('a1', 'a4', 'd1')],
  ['{service_name="api"} |= "served" != "alice"', ids('d1')],
  ['{service_name="api"} |~ `duration=\\d+ms`', ids('a1', 'a2', 'a4', 'a5', 'd1', 'd2')],
  ['{service_name="api"} !~ "level=(info|debug)"', ids('a2', 'a3', 'd2')],
  ['{service_name="api"} |~ "user=(alice|bob)" |= "items"', ids('a1', 'a2')],
  // Label filters on stream labels and structured metadata.
  ['{service_name="api"} | env="dev"', ids('d1', 'd2')],
  ['{service_name="api"} | detected_level="warn"', ids('a2')],
  ['{service_name="api"} | detected_level=~"warn|error"', ids('a2', 'a3')],
  ['{service_name="api"} | detected_level!=""', ids('a1', 'a2', 'a3', 'a4', 'a5')],
  ['{service_name=~".+"} | cluster!="eu"', ids('a1', 'a2', 'a3', 'a4', 'a5', 'd1', 'd2', 'k1', 'k2', 'k3', 'k4')],
  [`{service_name=~".+"} | trace_id="${traceId}"`, ids('w2', 'p2')],
  ['{service_name="proxy"} | trace_id!=""', ids('p2')],
  // json.
  ['{service_name="web"} | json | method="GET"', ids('w1', 'w3', 'w5')],
  ['{service_name="web"} | json | status >= 400', ids('w2', 'w4', 'w5')],
  ['{service_name="web"} | json | status == 200', ids('w1', 'w3')],
  ['{service_name="web"} | json | status != 200 and status < 500', ids('w2', 'w5', 'w6')],
  ['{service_name="web"} | json | status >= 400 or method="PUT"', ids('w2', 'w4', 'w5', 'w6')],
  ['{service_name="web"} | json | latency > 100ms', ids('w2', 'w3', 'w4')],
  ['{service_name="web"} | json | latency <= 45ms', ids('w1', 'w5')],
  ['{service_name="web"} | json | latency >= 1s and latency < 2.5s', ids('w3')],
  ['{service_name="web"} | json | size > 1KB', ids('w1', 'w3', 'w5')],
  ['{service_name="web"} | json | size >= 2KiB', ids('w3')],
  ['{service_name="web"} | json | size < 1kB, method!="DELETE"', ids('w2', 'w6')],
  ['{service_name="web"} | json | user_id="alice"', ids('w1', 'w3')],
  ['{service_name="web"} | json | user_tier=~"gold|silver"', ids('w1', 'w3', 'w6')],
  ['{service_name="web"} | json | error!=""', ids('w4')],
  ['{service_name="web"} | json | error=""', ids('w1', 'w2', 'w3', 'w5', 'w6')],
  ['{service_name="web"} | json | env_extracted="canary"', ids('w6')],
  ['{service_name="web"} | json | env="prod"', ids('w1', 'w2', 'w3', 'w4', 'w5', 'w6')],
  ['{service_name="web"} | json uid="user.id" | uid="bob"', ids('w2', 'w5')],
  ['{service_name="web"} | json code="status", m="method" | code="500"', ids('w4')],
  ['{service_name="web"} | json first_tag="tags[0]" | first_tag="x"', ids('w5')],
  ['{service_name="web"} | json user="user" | user=`{"id":"dave","tier":"silver"}`', ids('w6')],
  ['{service_name="web"} | json | path=~"/cart.*"', ids('w3', 'w4')],
  ['{service_name="web"} | json | __error__=""', ids('w1', 'w2', 'w3', 'w4', 'w5', 'w6')],
  [
    '{service_name=~".+"} | json | __error__="JSONParserErr"',
    ids('a1', 'a2', 'a3', 'a4', 'a5', 'd1', 'd2', 'p1', 'p2', 'p3', 'p4', 'p5', 'k4'),
  ],
  ['{service_name=~".+"} | json | __error__!=""', ids('a1', 'a2', 'a3', 'a4', 'a5', 'd1', 'd2', 'p1', 'p2', 'p3', 'p4', 'p5', 'k4')],
  // logfmt.
  ['{service_name="api"} | logfmt | user="alice"', ids('a1', 'a4')],
  ['{service_name="api"} | logfmt | duration > 100ms', ids('a2', 'a3', 'a4')],
  ['{service_name="api"} | logfmt | duration >= 5s', ids('a3')],
  ['{service_name="api"} | logfmt | bytes > 1000', ids('a1', 'a4')],
  ['{service_name="api"} | logfmt | bytes >= 1KiB', ids('a1', 'a4')],
  ['{service_name="api"} | logfmt | route="/v1/pay"', ids('a3', 'a4')],
  ['{service_name="api"} | logfmt | level="error"', ids('a3', 'd2')],
  ['{service_name="api"} | logfmt | entries > 40', ids('a5')],
  ['{service_name="api"} | logfmt msg, user | user="bob"', ids('a2')],
  ['{service_name="api"} | logfmt u="user" | u=~"a.*"', ids('a1', 'a4')],
  ['{service_name="api"} | logfmt | trace="abc123"', ids('d2')],
  ['{service_name="api"} | logfmt | msg=~".*timeout.*" or msg=~"panic.*"', ids('a3', 'd2')],
  ['{service_name="api"} | logfmt | duration > 1s, route="/v1/pay"', ids('a3')],
  ['{service_name="api"} | logfmt | (user="alice" or user="bob") and duration < 500ms', ids('a1', 'a4')],
  ['{service_name="api"} | logfmt --strict | level="debug"', ids('a5')],
  ['{service_name="api"} | logfmt | bytes == 0', ids('a3', 'd2')],
  // regexp and pattern.
  [
    '{service_name="proxy"} | regexp `^(?P<ip>\\S+) - - "(?P<method>\\w+) (?P<path>\\S+) (?P<proto>[^"]+)" (?P<status>\\d+) (?P<size>\\d+)` | status >= 400',
    ids('p2', 'p4', 'p5'),
  ],
  ['{service_name="proxy"} | regexp `^(?P<ip>\\S+) ` | ip="10.0.0.1"', ids('p1', 'p3')],
  ['{service_name="proxy"} | regexp `"(?P<method>\\w+) ` | method="GET"', ids('p1', 'p3', 'p4')],
  ['{service_name="proxy"} | regexp `(?P<took>[\\d.]+)$` | took > 0.2', ids('p2', 'p5')],
  ['{service_name="proxy"} | decolorize | regexp `^(?P<ip>[\\d.]+) ` | ip="10.0.0.3"', ['10.0.0.3 - - "GET /admin HTTP/1.1" 403 64 0.001']],
  ['{service_name="proxy"} | pattern `<ip> - - "<method> <path> <_>" <status> <size> <_>` | status="200"', ids('p1')],
  [
    '{service_name="proxy"} | pattern `<ip> - - "<method> <path> <_>" <status> <size> <_>` | method="POST" or method="PUT"',
    ids('p2', 'p5'),
  ],
  ['{service_name="proxy"} | pattern `<ip> - - "<method> <path> <_>" <status> <size> <_>` | size > 1000', ids('p1', 'p5')],
  ['{service_name="proxy"} | pattern `<_> "<method> <_>` | method!="GET"', ids('p2', 'p5')],
  ['{service_name="proxy"} | pattern `<_> "<_> <path> <_>` | path=~"/api/.*"', ids('p2', 'p5')],
  ['{service_name="worker"} | unpack | pattern `job <state> id=<id>` | state="failed"', ['job failed id=17 error=smtp']],
  // unpack.
  ['{service_name="worker"} | unpack | queue="emails"', ['job failed id=17 error=smtp', 'job started id=17']],
  ['{service_name="worker"} | unpack | attempt > 1', ['job failed id=17 error=smtp']],
  ['{service_name="worker"} | unpack | __error__=""', ['job done id=18', 'job failed id=17 error=smtp', 'job started id=17']],
  ['{service_name="worker"} | unpack | __error__!=""', ids('k4')],
  // line_format.
  [
    '{service_name="web"} | json | line_format "{{.method}} {{.path}} {{.status}}"',
    ['PUT /profile 204', 'GET /search?q=shoes 404', 'DELETE /cart/7 500', 'GET /cart 200', 'POST /login 401', 'GET / 200'],
  ],
  ['{service_name="web"} | json | status >= 500 | line_format "{{.user_id | ToUpper}} hit {{.error}}"', ['CAROL hit db timeout']],
  [
    '{service_name="api", env="prod"} | logfmt | line_format `{{.level | upper}}: {{.msg}}`',
    ['DEBUG: cache refreshed', 'INFO: request served', 'ERROR: upstream timeout', 'WARN: slow upstream', 'INFO: request served'],
  ],
  [
    '{service_name="api"} | logfmt | line_format `{{.user | default "nobody"}}`',
    ['nobody', 'alice', 'carol', 'root', 'bob', 'erin', 'alice'],
  ],
  ['{service_name="web"} | json | line_format "{{.user_id}}" |= "a"', ['dave', 'carol', 'alice', 'alice']],
  ['{service_name="proxy"} | line_format "{{__line__}}" |= "admin"', ids('p4')],
  ['{service_name="web"} | json | method="GET" | line_format `{{.method | lower}} {{.path | trunc 4}}`', ['get /sea', 'get /car', 'get /']],
  [
    '{service_name="worker"} | unpack | line_format "{{.queue}}/{{.attempt}}: {{__line__}}"',
    ['/: Worker heartbeat OK', 'reports/1: job done id=18', 'emails/2: job failed id=17 error=smtp', 'emails/1: job started id=17'],
  ],
  [
    '{service_name="api"} | logfmt | route!="" | line_format `{{.route | replace "/v1/" ""}}`',
    ['pay', 'pay', 'admin', 'items', 'items', 'items'],
  ],
  ['{service_name="web"} | json | line_format `{{.user_tier | title}}` |= "G"', ['Gold', 'Gold']],
  [
    '{service_name="api", env="dev"} | logfmt | line_format `{{ .msg | trim }}-{{ .user }}`',
    ['panic recovered-root', 'request served-erin'],
  ],
  [
    '{service_name="web"} | json | line_format `{{ regexReplaceAll "/([a-z]+).*" .path "$1" }}`',
    ['profile', 'search', 'cart', 'cart', 'login', '/'],
  ],
  ['{service_name="web"} | json | path=~".*[0-9].*" | line_format `{{ regexReplaceAllLiteral "[0-9]" .path "$1" }}`', ['/cart/$1']],
  [
    '{service_name="api", env="prod"} | logfmt | route!="" | line_format `{{ TrimPrefix .route "/v1/" }}`',
    ['pay', 'pay', 'items', 'items'],
  ],
  ['{service_name="web"} | json | line_format `{{ .user_id | substr 0 2 }}`', ['da', 'bo', 'ca', 'al', 'bo', 'al']],
  // decolorize.
  ['{service_name="proxy"} | decolorize |= "10.0.0.3 - -"', ['10.0.0.3 - - "GET /admin HTTP/1.1" 403 64 0.001']],
  ['{service_name="proxy"} | decolorize !~ "^10"', ids('p5')],
  ['{service_name="proxy"} |= "[31m" | decolorize', ['10.0.0.3 - - "GET /admin HTTP/1.1" 403 64 0.001']],
];

/** [query, streams as [labels, lines]] in label order: what parsers, label_format, drop and keep leave on a line. */
const streamCases: [string, [Record<string, string>, string[]][]][] = [
  ['{service_name="api", env="prod"} | logfmt | keep user | user=~"a.*"', [[{ user: 'alice' }, ids('a4', 'a1')]]],
  ['{service_name="web"} | json | keep method, status | status="200"', [[{ method: 'GET', status: '200' }, ids('w3', 'w1')]]],
  ['{service_name="proxy"} | drop cluster, env, trace_id', [[{ service_name: 'proxy' }, ids('p5', 'p4', 'p3', 'p2', 'p1')]]],
  [
    '{service_name="api"} | drop detected_level, env="dev"',
    [
      [{ cluster: 'us', env: 'prod', service_name: 'api' }, ids('a5', 'a4', 'a3', 'a2', 'a1')],
      [{ cluster: 'us', service_name: 'api' }, ids('d2', 'd1')],
    ],
  ],
  [
    '{service_name="api"} | label_format tier=env | keep tier, service_name',
    [
      [{ service_name: 'api', tier: 'dev' }, ids('d2', 'd1')],
      [{ service_name: 'api', tier: 'prod' }, ids('a5', 'a4', 'a3', 'a2', 'a1')],
    ],
  ],
  [
    '{service_name="web"} | json | label_format who=`{{.user_id}}@{{.user_tier}}` | keep who | who="alice@gold"',
    [[{ who: 'alice@gold' }, ids('w3', 'w1')]],
  ],
  [
    '{service_name="worker"} | unpack | __error__="" | keep queue',
    [
      [{ queue: 'emails' }, ['job failed id=17 error=smtp', 'job started id=17']],
      [{ queue: 'reports' }, ['job done id=18']],
    ],
  ],
  [
    '{service_name="api", env="prod"} | logfmt | drop level, msg, route, duration, bytes, user, entries | detected_level="info"',
    [[{ cluster: 'us', detected_level: 'info', env: 'prod', service_name: 'api' }, ids('a4', 'a1')]],
  ],
  [
    '{service_name="api", env="prod"} | drop detected_level="debug"',
    [
      [{ cluster: 'us', detected_level: 'error', env: 'prod', service_name: 'api' }, ids('a3')],
      [{ cluster: 'us', detected_level: 'info', env: 'prod', service_name: 'api' }, ids('a4', 'a1')],
      [{ cluster: 'us', detected_level: 'warn', env: 'prod', service_name: 'api' }, ids('a2')],
      [{ cluster: 'us', env: 'prod', service_name: 'api' }, ids('a5')],
    ],
  ],
  [
    '{service_name="proxy"} |= "GET" | label_format env=`{{.env | upper}}`, cluster=`{{.cluster}}-1`',
    [[{ cluster: 'eu-1', env: 'PROD', service_name: 'proxy' }, ids('p4', 'p3', 'p1')]],
  ],
  [
    '{service_name="web"} | json | status="404" | label_format status_class=`{{.status | trunc 1}}xx` | keep status_class',
    [[{ status_class: '4xx' }, ids('w5')]],
  ],
  [
    '{service_name="web"} | json | method="DELETE" | drop __error__, user_id, user_tier, latency, size, path, method, status',
    [[{ cluster: 'eu', env: 'prod', error: 'db timeout', service_name: 'web' }, ids('w4')]],
  ],
  ['{service_name="web"} | json | method="PUT" | keep env, env_extracted', [[{ env: 'prod', env_extracted: 'canary' }, ids('w6')]]],
  [
    '{service_name="api", env="dev"} | logfmt | keep trace, level',
    [
      [{ level: 'error', trace: 'abc123' }, ids('d2')],
      [{ level: 'info' }, ids('d1')],
    ],
  ],
  [
    '{service_name="web"} |= "bob" | json | keep user_id, trace_id',
    [
      [{ trace_id: traceId, user_id: 'bob' }, ids('w2')],
      [{ user_id: 'bob' }, ids('w5')],
    ],
  ],
];

type Sample = [Record<string, string>, string];
/** [query, expected series at the evaluation time (default T0+60 s), in Loki's order: by labels, or by value under sort()/sort_desc()] */
const metricCases: [string, Sample[], number?][] = [
  // Log range aggregations: a series per stream label set and structured metadata.
  [
    'count_over_time({service_name="web"}[1m])',
    [
      [web, '5'],
      [{ ...web, trace_id: traceId }, '1'],
    ],
  ],
  ['sum(count_over_time({service_name=~".+"}[1m]))', [[{}, '22']]],
  [
    'count_over_time({service_name="api"}[1m])',
    [
      [{ cluster: 'us', detected_level: 'debug', env: 'prod', service_name: 'api' }, '1'],
      [{ cluster: 'us', detected_level: 'error', env: 'prod', service_name: 'api' }, '1'],
      [{ cluster: 'us', detected_level: 'info', env: 'prod', service_name: 'api' }, '2'],
      [{ cluster: 'us', detected_level: 'warn', env: 'prod', service_name: 'api' }, '1'],
      [apiDev, '2'],
    ],
  ],
  [
    'sum by (env) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{ env: 'dev' }, '2'],
      [{ env: 'prod' }, '16'],
      [{ env: 'staging' }, '4'],
    ],
  ],
  [
    'sum by (cluster) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{}, '4'],
      [{ cluster: 'eu' }, '11'],
      [{ cluster: 'us' }, '7'],
    ],
  ],
  [
    'sum without (cluster, env, detected_level, trace_id) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{ service_name: 'api' }, '7'],
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'web' }, '6'],
      [{ service_name: 'worker' }, '4'],
    ],
  ],
  ['sum(rate({service_name="proxy"}[1m]))', [[{}, String(5 / 60)]]],
  [
    'sum by (service_name) (rate({service_name=~".+"}[1m]))',
    [
      [{ service_name: 'api' }, String(7 / 60)],
      [{ service_name: 'proxy' }, String(5 / 60)],
      [{ service_name: 'web' }, String(6 / 60)],
      [{ service_name: 'worker' }, String(4 / 60)],
    ],
  ],
  ['sum(bytes_over_time({service_name="web"}[1m]))', [[{}, String(bytesOf('w1', 'w2', 'w3', 'w4', 'w5', 'w6'))]]],
  ['sum(bytes_rate({service_name="proxy"}[1m]))', [[{}, String(bytesOf('p1', 'p2', 'p3', 'p4', 'p5') / 60)]]],
  // Without sum, a rate per series: p2 carries a trace_id.
  [
    'bytes_rate({service_name="proxy"}[1m])',
    [
      [proxy, String(bytesOf('p1', 'p3', 'p4', 'p5') / 60)],
      [{ ...proxy, trace_id: traceId }, String(bytesOf('p2') / 60)],
    ],
  ],
  [
    'sum by (env) (bytes_over_time({service_name="api"}[1m]))',
    [
      [{ env: 'dev' }, String(bytesOf('d1', 'd2'))],
      [{ env: 'prod' }, String(bytesOf('a1', 'a2', 'a3', 'a4', 'a5'))],
    ],
  ],
  ['bytes_over_time({service_name="worker"} |= "emails" [1m])', [[worker, String(bytesOf('k1', 'k2'))]]],
  ['count_over_time({service_name="web"} |= "alice" [1m])', [[web, '2']]],
  ['sum(count_over_time({service_name=~".+"} |~ "timeout|panic" [1m]))', [[{}, '3']]],
  [
    'sum by (method) (count_over_time({service_name="web"} | json [1m]))',
    [
      [{ method: 'DELETE' }, '1'],
      [{ method: 'GET' }, '3'],
      [{ method: 'POST' }, '1'],
      [{ method: 'PUT' }, '1'],
    ],
  ],
  [
    'sum by (status) (count_over_time({service_name="web"} | json | status >= 400 [1m]))',
    [
      [{ status: '401' }, '1'],
      [{ status: '404' }, '1'],
      [{ status: '500' }, '1'],
    ],
  ],
  [
    'sum by (level) (count_over_time({service_name="api"} | logfmt [1m]))',
    [
      [{ level: 'debug' }, '1'],
      [{ level: 'error' }, '2'],
      [{ level: 'info' }, '3'],
      [{ level: 'warn' }, '1'],
    ],
  ],
  [
    'sum by (detected_level) (count_over_time({service_name="api"}[1m]))',
    [
      [{}, '2'],
      [{ detected_level: 'debug' }, '1'],
      [{ detected_level: 'error' }, '1'],
      [{ detected_level: 'info' }, '2'],
      [{ detected_level: 'warn' }, '1'],
    ],
  ],
  [
    'sum by (queue) (count_over_time({service_name="worker"} | unpack | __error__="" [1m]))',
    [
      [{ queue: 'emails' }, '2'],
      [{ queue: 'reports' }, '1'],
    ],
  ],
  [
    'sum by (method) (count_over_time({service_name="proxy"} | pattern `<_> "<method> <_>` [1m]))',
    [
      [{ method: 'GET' }, '3'],
      [{ method: 'POST' }, '1'],
      [{ method: 'PUT' }, '1'],
    ],
  ],
  [
    'sum by (status) (count_over_time({service_name="proxy"} | regexp `" (?P<status>\\d{3}) ` [1m]))',
    [
      [{ status: '200' }, '1'],
      [{ status: '304' }, '1'],
      [{ status: '401' }, '1'],
      [{ status: '403' }, '1'],
      [{ status: '500' }, '1'],
    ],
  ],
  ['sum(count_over_time({service_name=~".+"} | json | __error__="" [1m]))', [[{}, '9']]],
  ['sum(count_over_time({service_name=~".+"} | drop __error__ [1m]))', [[{}, '22']]],
  // Unwrapped range aggregations.
  [
    'sum by (env) (sum_over_time({service_name="api"} | logfmt | unwrap bytes | __error__="" [1m]))',
    [
      [{ env: 'dev' }, '800'],
      [{ env: 'prod' }, '5596'],
    ],
  ],
  [
    'avg_over_time({service_name="api", env="prod"} | logfmt | unwrap duration(duration) [1m]) by (env)',
    [[{ env: 'prod' }, String(lokiMean([0.035, 0.85, 5, 0.12, 0.003]))]],
  ],
  // Grouped by labels only the line carries: ClickHouse extracts them on plain logfmt lines (a5 has no route nor user).
  [
    'avg_over_time({service_name="api"} | logfmt | unwrap duration(duration) | __error__="" [1m]) by (route)',
    [
      [{}, '0.003'],
      [{ route: '/v1/admin' }, '0.002'],
      [{ route: '/v1/items' }, String(lokiMean([0.035, 0.02, 0.85]))],
      [{ route: '/v1/pay' }, String(lokiMean([5, 0.12]))],
    ],
  ],
  [
    'quantile_over_time(0.5, {service_name="api"} | logfmt | unwrap duration(duration) | __error__="" [1m]) by (user, msg)',
    [
      [{ msg: 'cache refreshed' }, '0.003'],
      [{ msg: 'panic recovered', user: 'root' }, '0.002'],
      [{ msg: 'request served', user: 'alice' }, String(0.035 * 0.5 + 0.12 * 0.5)],
      [{ msg: 'request served', user: 'erin' }, '0.02'],
      [{ msg: 'slow upstream', user: 'bob' }, '0.85'],
      [{ msg: 'upstream timeout', user: 'carol' }, '5'],
    ],
  ],
  ['max_over_time({service_name="web"} | json | unwrap duration(latency) [1m]) by (service_name)', [[{ service_name: 'web' }, '3']]],
  ['min_over_time({service_name="web"} | json | unwrap duration(latency) [1m]) by (service_name)', [[{ service_name: 'web' }, '0.012']]],
  [
    'sum by (service_name) (sum_over_time({service_name="web"} | json size | unwrap bytes(size) [1m]))',
    [[{ service_name: 'web' }, '24112']],
  ],
  [
    'max_over_time({service_name="web"} | json | unwrap bytes(size) [1m]) by (user_tier)',
    [
      [{ user_tier: 'free' }, '2000'],
      [{ user_tier: 'gold' }, '20000'],
      [{ user_tier: 'silver' }, '100'],
    ],
  ],
  ['quantile_over_time(0.5, {service_name="web"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'web' }, '302.5']]],
  ['quantile_over_time(0.9, {service_name="web"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'web' }, '452']]],
  ['quantile_over_time(0, {service_name="web"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'web' }, '200']]],
  ['quantile_over_time(1, {service_name="web"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'web' }, '500']]],
  ['first_over_time({service_name="web"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'web' }, '200']]],
  ['last_over_time({service_name="web"} | json | unwrap status [1m]) by (service_name)', [[{ service_name: 'web' }, '204']]],
  [
    'stdvar_over_time({service_name="proxy"} | pattern `<_> "<_>" <status> <size> <_>` | unwrap size [1m]) by (service_name)',
    [[{ service_name: 'proxy' }, String(lokiVariance([5120, 128, 0, 64, 2048]))]],
  ],
  [
    'stddev_over_time({service_name="proxy"} | pattern `<_> "<_>" <status> <size> <_>` | unwrap size [1m]) by (service_name)',
    [[{ service_name: 'proxy' }, String(Math.sqrt(lokiVariance([5120, 128, 0, 64, 2048])))]],
  ],
  [
    'sum by (env) (sum_over_time({service_name="api"} | logfmt duration | drop detected_level | unwrap duration(duration) | __error__="" [1m]))',
    [
      [{ env: 'dev' }, String(sum([0.02, 0.002]))],
      [{ env: 'prod' }, String(sum([0.035, 0.85, 5, 0.12, 0.003]))],
    ],
  ],
  [
    'avg_over_time({service_name="proxy"} | regexp `(?P<took>[\\d.]+)$` | unwrap took | __error__="" [1m]) by (service_name)',
    [[{ service_name: 'proxy' }, String(lokiMean([0.012, 0.25, 0.003, 1.5]))]],
  ],
  [
    'max_over_time({service_name="api"} | logfmt | unwrap entries | __error__="" [1m]) by (service_name)',
    [[{ service_name: 'api' }, '42']],
  ],
  // rate(unwrapped-range): the sum of the values per second.
  [
    'sum by (env) (rate({service_name="api"} | logfmt bytes | drop detected_level | unwrap bytes | __error__="" [1m]))',
    [
      [{ env: 'dev' }, String(800 / 60)],
      [{ env: 'prod' }, String(5596 / 60)],
    ],
  ],
  [
    'sum by (user) (sum_over_time({service_name="api"} | logfmt bytes, user | drop detected_level | unwrap bytes | __error__="" [1m]))',
    [
      [{ user: 'alice' }, '5296'],
      [{ user: 'bob' }, '300'],
      [{ user: 'carol' }, '0'],
      [{ user: 'erin' }, '800'],
      [{ user: 'root' }, '0'],
    ],
  ],
  ['max_over_time({service_name="web"} | json | unwrap latency | __error__="" [1m]) by (service_name)', []],
  // A line without the unwrapped label gives no sample (Loki since its issue 6713): a5 has no bytes.
  [
    'sum by (env) (sum_over_time({service_name="api"} | logfmt | unwrap bytes [1m]))',
    [
      [{ env: 'dev' }, '800'],
      [{ env: 'prod' }, '5596'],
    ],
  ],
  // rate_counter: Loki's extrapolatedRate (pkg/logql/range_vector.go): a drop is a counter reset (the value before it
  // is added back); times in seconds; a first or last sample further than 1.1 average intervals from the window's
  // bound extrapolates by half an interval there, never below a zero counter; fewer than two samples give 0.
  // worker attempts 1 (6 s), 2 (11 s), reset to 1 (16 s): increase 1 − 1 + 2 = 2 over 10 s (average 5 s);
  // 6 s to the start and 44 s to the end are both past 5.5 s: 2.5 s each side. k4 has no attempt.
  ['rate_counter({service_name="worker"} | json attempt | unwrap attempt [1m])', [[worker, String((2 * ((10 + 2.5 + 2.5) / 10)) / 60)]]],
  // api prod bytes 1200 (2 s), 300 (7 s), 0 (12 s), 4096 (17 s): two resets, increase 4096 − 1200 + 1200 + 300 = 4396
  // over 15 s (average 5 s): 2 s to the start is kept, 43 s to the end becomes 2.5 s.
  [
    'rate_counter({service_name="api", env="prod"} | logfmt bytes | drop detected_level | unwrap bytes [1m])',
    [[apiProd, String((4396 * ((15 + 2 + 2.5) / 15)) / 60)]],
  ],
  // api dev bytes 800 then 0: the reset cancels the drop, increase 0.
  ['rate_counter({service_name="api", env="dev"} | logfmt bytes | unwrap bytes [1m])', [[apiDev, '0']]],
  // Window (11 s, 17 s]: 0 then 4096. A counter starting at 0 is not extrapolated before its first sample.
  [
    'rate_counter({service_name="api", env="prod"} | logfmt bytes | drop detected_level | unwrap bytes [6s])',
    [[apiProd, String(4096 / 6)]],
    17,
  ],
  [
    'sum(rate_counter({service_name="api"} | logfmt bytes | drop detected_level | unwrap bytes [1m]))',
    [[{}, String((4396 * ((15 + 2 + 2.5) / 15)) / 60)]],
  ],
  // absent_over_time: labels of the selector's equality matchers.
  ['absent_over_time({service_name="web"}[1m])', []],
  ['absent_over_time({service_name="mobile", env="prod"}[1m])', [[{ env: 'prod', service_name: 'mobile' }, '1']]],
  ['absent_over_time({service_name="web"} |= "nothing-like-this" [1m])', [[{ service_name: 'web' }, '1']]],
  ['absent_over_time({service_name=~"mob.*"}[1m])', [[{}, '1']]],
  // Windows are (t − range, t], moved back by offset.
  ['sum(count_over_time({service_name=~".+"}[10s]))', [[{}, '4']], 30],
  ['sum(count_over_time({service_name=~".+"}[10s] offset 10s))', [[{}, '8']], 30],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[10s] offset 20s))',
    [
      [{ service_name: 'api' }, '4'],
      [{ service_name: 'proxy' }, '2'],
      [{ service_name: 'web' }, '3'],
      [{ service_name: 'worker' }, '1'],
    ],
    30,
  ],
  ['sum(count_over_time({service_name="web"}[1m] offset 30s))', [[{}, '6']]],
  ['sum(count_over_time({service_name="web"}[5s] offset 1s))', [[{}, '1']], 11],
  ['sum(count_over_time({service_name=~".+"}[10s] offset 40s))', [[{}, '8']]],
  ['sum(count_over_time({service_name=~".+"}[10s] offset 40s))', [], 80],
  // Vector aggregations.
  ['avg(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '5.5']]],
  ['min(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '4']]],
  ['max(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '7']]],
  ['count(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '4']]],
  ['stdvar(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, '1.25']]],
  ['stddev(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{}, String(Math.sqrt(1.25))]]],
  [
    'topk(2, sum by (service_name) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ service_name: 'api' }, '7'],
      [{ service_name: 'web' }, '6'],
    ],
  ],
  ['bottomk(1, sum by (service_name) (count_over_time({service_name=~".+"}[1m])))', [[{ service_name: 'worker' }, '4']]],
  [
    'topk by (env) (1, sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ env: 'dev', service_name: 'api' }, '2'],
      [{ env: 'prod', service_name: 'web' }, '6'],
      [{ env: 'staging', service_name: 'worker' }, '4'],
    ],
  ],
  [
    'count by (env) (sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ env: 'dev' }, '1'],
      [{ env: 'prod' }, '3'],
      [{ env: 'staging' }, '1'],
    ],
  ],
  [
    'max by (cluster) (sum by (cluster, service_name) (count_over_time({cluster=~".+"}[1m])))',
    [
      [{ cluster: 'eu' }, '6'],
      [{ cluster: 'us' }, '7'],
    ],
  ],
  [
    'sum without (env) (sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ service_name: 'api' }, '7'],
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'web' }, '6'],
      [{ service_name: 'worker' }, '4'],
    ],
  ],
  [
    'sum(sum by (env) (count_over_time({service_name=~".+"}[1m]))) by (env)',
    [
      [{ env: 'dev' }, '2'],
      [{ env: 'prod' }, '16'],
      [{ env: 'staging' }, '4'],
    ],
  ],
  [
    'sort(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ service_name: 'worker' }, '4'],
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'web' }, '6'],
      [{ service_name: 'api' }, '7'],
    ],
  ],
  [
    'sort_desc(sum by (service_name) (count_over_time({service_name=~".+"}[1m])))',
    [
      [{ service_name: 'api' }, '7'],
      [{ service_name: 'web' }, '6'],
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'worker' }, '4'],
    ],
  ],
  [
    'sort_desc(sum by (env) (count_over_time({service_name=~".+"}[1m])) * 2)',
    [
      [{ env: 'prod' }, '32'],
      [{ env: 'staging' }, '8'],
      [{ env: 'dev' }, '4'],
    ],
  ],
  // Binary operators: scalars, vectors, bool, precedence.
  ['sum(count_over_time({service_name="web"}[1m])) + sum(count_over_time({service_name="proxy"}[1m]))', [[{}, '11']]],
  ['sum(count_over_time({service_name="web"}[1m])) - 10', [[{}, '-4']]],
  ['sum(count_over_time({service_name="web"}[1m])) * 2.5', [[{}, '15']]],
  ['sum(count_over_time({service_name="web"}[1m])) / 4', [[{}, '1.5']]],
  ['sum(count_over_time({service_name="web"}[1m])) % 4', [[{}, '2']]],
  ['sum(count_over_time({service_name="web"}[1m])) ^ 2', [[{}, '36']]],
  ['10 - sum(count_over_time({service_name="web"}[1m]))', [[{}, '4']]],
  ['sum(count_over_time({service_name="web"}[1m])) + 4 * 2', [[{}, '14']]],
  ['(sum(count_over_time({service_name="web"}[1m])) + 4) * 2', [[{}, '20']]],
  ['-sum(count_over_time({service_name="web"}[1m]))', [[{}, '-6']]],
  ['sum(count_over_time({service_name="web"}[1m])) > 5', [[{}, '6']]],
  ['sum(count_over_time({service_name="web"}[1m])) > 6', []],
  ['sum(count_over_time({service_name="web"}[1m])) >= 6', [[{}, '6']]],
  ['sum(count_over_time({service_name="web"}[1m])) == bool 6', [[{}, '1']]],
  ['sum(count_over_time({service_name="web"}[1m])) != bool 6', [[{}, '0']]],
  ['sum(count_over_time({service_name="web"}[1m])) < bool 10', [[{}, '1']]],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) > 5',
    [
      [{ service_name: 'api' }, '7'],
      [{ service_name: 'web' }, '6'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) <= 5',
    [
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'worker' }, '4'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) < bool 5',
    [
      [{ service_name: 'api' }, '0'],
      [{ service_name: 'proxy' }, '0'],
      [{ service_name: 'web' }, '0'],
      [{ service_name: 'worker' }, '1'],
    ],
  ],
  [
    '5 < bool sum by (service_name) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{ service_name: 'api' }, '1'],
      [{ service_name: 'proxy' }, '0'],
      [{ service_name: 'web' }, '1'],
      [{ service_name: 'worker' }, '0'],
    ],
  ],
  [
    'sum by (env) (count_over_time({service_name=~".+"}[1m])) / sum by (env) (bytes_over_time({service_name=~".+"}[1m])) > 0',
    [
      [{ env: 'dev' }, String(2 / bytesOf('d1', 'd2'))],
      [{ env: 'prod' }, String(16 / bytesOf(...all.filter((id) => /^[wap]/.test(id))))],
      [{ env: 'staging' }, String(4 / bytesOf('k1', 'k2', 'k3', 'k4'))],
    ],
  ],
  // Vector matching: on/ignoring, group_left/group_right.
  [
    'sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])) / on (env) group_left sum by (env) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{ env: 'dev', service_name: 'api' }, '1'],
      [{ env: 'prod', service_name: 'api' }, '0.3125'],
      [{ env: 'prod', service_name: 'proxy' }, '0.3125'],
      [{ env: 'prod', service_name: 'web' }, '0.375'],
      [{ env: 'staging', service_name: 'worker' }, '1'],
    ],
  ],
  [
    'sum by (env) (count_over_time({service_name=~".+"}[1m])) / on (env) group_right sum by (env, service_name) (count_over_time({service_name=~".+"}[1m]))',
    [
      [{ env: 'dev', service_name: 'api' }, '1'],
      [{ env: 'prod', service_name: 'api' }, '3.2'],
      [{ env: 'prod', service_name: 'proxy' }, '3.2'],
      [{ env: 'prod', service_name: 'web' }, String(16 / 6)],
      [{ env: 'staging', service_name: 'worker' }, '1'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) * on (service_name) group_left (cluster) max by (service_name, cluster) (count_over_time({cluster=~".+"}[1m]))',
    [
      [{ cluster: 'eu', service_name: 'proxy' }, '20'],
      [{ cluster: 'eu', service_name: 'web' }, '30'],
      [{ cluster: 'us', service_name: 'api' }, '14'],
    ],
  ],
  [
    'sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])) - ignoring (service_name) group_left sum by (env) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [
      [{ env: 'prod', service_name: 'api' }, '-1'],
      [{ env: 'prod', service_name: 'proxy' }, '-1'],
      [{ env: 'prod', service_name: 'web' }, '0'],
    ],
  ],
  [
    'sum by (service_name, cluster) (count_over_time({service_name=~".+"}[1m])) > on (service_name) sum by (service_name) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'web' }, '6'],
    ],
  ],
  [
    'sum by (service_name, cluster) (count_over_time({service_name=~".+"}[1m])) - ignoring (cluster) sum by (service_name) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [
      [{ service_name: 'proxy' }, '2'],
      [{ service_name: 'web' }, '3'],
    ],
  ],
  [
    'sum by (service_name, cluster) (count_over_time({service_name=~".+"}[1m])) < bool on (service_name) sum by (service_name) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [
      [{ service_name: 'proxy' }, '0'],
      [{ service_name: 'web' }, '0'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) and sum by (service_name) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'web' }, '6'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name=~".+"}[1m])) unless sum by (service_name) (count_over_time({service_name=~".+"} |= "GET" [1m]))',
    [
      [{ service_name: 'api' }, '7'],
      [{ service_name: 'worker' }, '4'],
    ],
  ],
  [
    'sum by (service_name) (count_over_time({service_name="web"}[1m])) or sum by (service_name) (count_over_time({service_name=~"web|worker"}[1m]))',
    [
      [{ service_name: 'web' }, '6'],
      [{ service_name: 'worker' }, '4'],
    ],
  ],
  [
    'sum by (service_name, env) (count_over_time({service_name="api"}[1m])) and on (env) sum by (env) (count_over_time({env="dev"}[1m]))',
    [[{ env: 'dev', service_name: 'api' }, '2']],
  ],
  // vector() and literals.
  ['sum(count_over_time({service_name="nope"}[1m])) or vector(0)', [[{}, '0']]],
  ['vector(3)', [[{}, '3']]],
  ['vector(1) + vector(1)', [[{}, '2']]],
  ['sum(count_over_time({service_name="web"}[1m])) + vector(1)', [[{}, '7']]],
  ['vector(2) * 3', [[{}, '6']]],
  // label_replace.
  [
    'label_replace(sum by (service_name) (count_over_time({service_name=~".+"}[1m])), "svc", "$1", "service_name", "(.*)er")',
    [
      [{ service_name: 'api' }, '7'],
      [{ service_name: 'proxy' }, '5'],
      [{ service_name: 'web' }, '6'],
      [{ service_name: 'worker', svc: 'work' }, '4'],
    ],
  ],
  [
    'label_replace(sum by (env) (count_over_time({service_name=~".+"}[1m])), "env", "env-$1", "env", "(p.*)")',
    [
      [{ env: 'dev' }, '2'],
      [{ env: 'env-prod' }, '16'],
      [{ env: 'staging' }, '4'],
    ],
  ],
  [
    'label_replace(sum by (service_name) (count_over_time({service_name="api"}[1m])), "x", "${1}-${2}", "service_name", "(a)(p)i")',
    [[{ service_name: 'api', x: 'a-p' }, '7']],
  ],
  [
    'label_replace(sum by (service_name) (count_over_time({service_name="web"}[1m])), "service_name", "", "service_name", "w.*")',
    [[{}, '6']],
  ],
  [
    'label_replace(sum by (service_name) (count_over_time({service_name="web"}[1m])), "copy", "$0", "service_name", "")',
    [[{ service_name: 'web' }, '6']],
  ],
  [
    'sum by (initial) (label_replace(count_over_time({service_name=~".+"}[1m]), "initial", "$1", "service_name", "(.).*"))',
    [
      [{ initial: 'a' }, '7'],
      [{ initial: 'p' }, '5'],
      [{ initial: 'w' }, '10'],
    ],
  ],
];

/** Scalar queries: [query, value]. */
const scalarCases: [string, string][] = [
  ['2 * 3 + 1', '7'],
  ['2 ^ 3 ^ 2', '512'],
  ['(1 + 2) * -3', '-9'],
  ['7 % 4', '3'],
  ['1 / 4', '0.25'],
];

/** Range queries: [query, start s, end s, step, matrix as [labels, [second, value][]]]. */
const rangeCases: [string, number, number, string, [Record<string, string>, [number, string][]][]][] = [
  [
    'sum by (service_name) (count_over_time({service_name="web"}[10s]))',
    10,
    30,
    '10s',
    [
      [
        { service_name: 'web' },
        [
          [10, '3'],
          [20, '2'],
          [30, '1'],
        ],
      ],
    ],
  ],
  ['sum(rate({service_name=~".+"}[30s]))', 30, 60, '30s', [[{}, [[30, String(22 / 30)]]]]],
  [
    'absent_over_time({service_name="web"}[5s])',
    0,
    30,
    '5s',
    [
      [
        { service_name: 'web' },
        [
          [0, '1'],
          [30, '1'],
        ],
      ],
    ],
  ],
  [
    'sum by (env) (count_over_time({service_name=~".+"}[10s] offset 10s))',
    20,
    40,
    '10s',
    [
      [{ env: 'dev' }, [[20, '2']]],
      [
        { env: 'prod' },
        [
          [20, '7'],
          [30, '6'],
          [40, '3'],
        ],
      ],
      [
        { env: 'staging' },
        [
          [20, '1'],
          [30, '2'],
          [40, '1'],
        ],
      ],
    ],
  ],
  [
    'sort_desc(sum by (service_name) (count_over_time({service_name=~"web|worker"}[1m])))',
    60,
    60,
    '1s',
    [
      [{ service_name: 'web' }, [[60, '6']]],
      [{ service_name: 'worker' }, [[60, '4']]],
    ],
  ],
  [
    'sum(count_over_time({service_name="proxy"} | pattern `<_> "<method> <_>` | method="GET" [20s])) by (method)',
    20,
    40,
    '20s',
    [[{ method: 'GET' }, [[20, '3']]]],
  ],
  // One sample in (0 s, 10 s] gives 0; (10 s, 20 s] holds 2 (11 s) then a reset to 1 (16 s): increase 1 over 5 s,
  // 1 s to the start and 4 s to the end both under 5.5 s, so kept; nothing in (20 s, 30 s].
  [
    'rate_counter({service_name="worker"} | json attempt | unwrap attempt [10s])',
    10,
    30,
    '10s',
    [
      [
        worker,
        [
          [10, '0'],
          [20, String((1 * ((5 + 1 + 4) / 5)) / 10)],
        ],
      ],
    ],
  ],
];

const errorCases: [string, number, RegExp][] = [
  [
    'sum(count_over_time({service_name=~".+"} | json [1m]))',
    400,
    /^pipeline error: 'JSONParserErr' for series: '\{.*\}'\.\nUse a label filter to intentionally skip this error\. \(e\.g \| __error__!="JSONParserErr"\)\./,
  ],
  ['sum_over_time({service_name="web"} | json | unwrap latency [1m])', 400, /^pipeline error: 'SampleExtractionErr'/],
  ['rate_counter({service_name="worker"} | json attempt | unwrap attempt [1m]) by (env)', 400, /no grouping on rate_counter/],
  ['sum_over_time({service_name="api"} | logfmt | unwrap bytes [1m]) by (env)', 400, /no grouping on sum_over_time/],
  ['rate({service_name="api"} | logfmt | unwrap bytes [1m]) by (env)', 400, /no grouping on rate/],
  [
    'label_replace(sum by (service_name) (count_over_time({service_name=~"w.*"}[1m])), "service_name", "", "service_name", "w.*")',
    400,
    /vector cannot contain metrics with the same labelset/,
  ],
  [
    'sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])) * on (env) sum by (env, service_name) (count_over_time({service_name=~".+"}[1m]))',
    400,
    /many-to-many matching not allowed/,
  ],
  [
    'sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])) * on (env) sum by (env) (count_over_time({service_name=~".+"}[1m]))',
    400,
    /many-to-one matching must be explicit \(group_left\/group_right\)/,
  ],
  [
    'sum by (env, service_name) (count_over_time({service_name=~".+"}[1m])) * on (env) group_left sum by (env, cluster) (count_over_time({service_name=~".+"}[1m]))',
    400,
    /many-to-many matching not allowed/,
  ],
  [
    'sum by (env) (count_over_time({service_name=~".+"}[1m])) and on (env) group_left sum by (env) (count_over_time({service_name=~".+"}[1m]))',
    400,
    /expected no grouping modifier with the set operator "and"/,
  ],
  ['sort by (env) (count_over_time({service_name=~".+"}[1m]))', 400, /expected no grouping on sort/],
  ['label_replace(vector(1), "not-a-label", "x", "service_name", ".*")', 400, /expected a valid label name as the destination label/],
  ['label_replace(vector(1), "x", "y", "service_name", "(")', 400, /expected a valid regular expression/],
  [
    'sum by (env) (count_over_time({service_name="web"}[1m])) * on (env) group_left (env) vector(1)',
    400,
    /label "env" in either on\(…\) or group_left\(…\), not both/,
  ],
];

const total = logCases.length + streamCases.length + metricCases.length + scalarCases.length + rangeCases.length + errorCases.length;

test(`LogQL conformance: ${total} queries give exactly the results Loki's documentation defines`, async (t) => {
  assert.ok(total >= 150, `${total} queries`);

  await t.test(`${logCases.length} log queries: line filters, label filters, parsers, formatting`, async () => {
    await eachCase(logCases, async (query, expected) => {
      const result = await logStreams(query);
      const got = result
        .flatMap((stream) => stream.values)
        .sort((a, b) => (BigInt(b[0]) > BigInt(a[0]) ? 1 : -1))
        .map(([, line]) => line);
      const texts = expected.every((item) => byId.has(item))
        ? [...expected].sort((a, b) => byId.get(b)!.second - byId.get(a)!.second)
        : expected;
      assert.deepEqual(got, expectedLines(texts), query);
    });
  });

  await t.test(`${streamCases.length} log queries: the label sets of the resulting streams`, async () => {
    await eachCase(streamCases, async (query, expected) => {
      const result = await logStreams(query);
      const got = result
        .map((stream) => [stream.stream, stream.values.map(([, line]) => line)] as const)
        .sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1));
      const want = expected
        .map(([labels, lines]) => [labels, expectedLines(lines)] as const)
        .sort((a, b) => (JSON.stringify(a[0]) < JSON.stringify(b[0]) ? -1 : 1));
      assert.deepEqual(got, want, query);
    });
  });

  await t.test(`${metricCases.length} instant metric queries`, async () => {
    await eachCase(metricCases, async (query, expected, second = 60) => {
      const { status, body, text } = await get('/loki/api/v1/query', { query, time: at(second) });
      assert.equal(status, 200, `${query}: ${text}`);
      assert.equal(body.data.resultType, 'vector', query);
      const got = body.data.result.map((series: { metric: Record<string, string>; value: [number, string] }) => {
        assert.equal(series.value[0], T0s + second, query);
        return [series.metric, series.value[1]];
      });
      assert.deepEqual(got, expected, query);
    });
  });

  await t.test(`${scalarCases.length} scalar queries`, async () => {
    await eachCase(scalarCases, async (query, expected) => {
      const { body } = await get('/loki/api/v1/query', { query, time: at(60) });
      assert.deepEqual(body.data.resultType, 'scalar', query);
      assert.deepEqual(body.data.result, [T0s + 60, expected], query);
    });
  });

  await t.test(`${rangeCases.length} range metric queries`, async () => {
    await eachCase(rangeCases, async (query, start, end, step, expected) => {
      const { status, body, text } = await get('/loki/api/v1/query_range', { query, start: at(start), end: at(end), step });
      assert.equal(status, 200, `${query}: ${text}`);
      assert.equal(body.data.resultType, 'matrix', query);
      const want = expected.map(([metric, points]) => ({ metric, values: points.map(([second, value]) => [T0s + second, value]) }));
      assert.deepEqual(body.data.result, want, query);
    });
  });

  await t.test(`${errorCases.length} queries Loki refuses, with its wording`, async () => {
    await eachCase(errorCases, async (query, status, message) => {
      const response = await get('/loki/api/v1/query', { query, time: at(60) });
      assert.equal(response.status, status, `${query}: ${response.text}`);
      assert.match(response.text, message, query);
    });
  });
});

test('log queries: direction and limit pick the oldest or newest lines, whatever stream they are in', async () => {
  const values = (body: any): [string, string][] =>
    body.data.result
      .flatMap((stream: { values: [string, string][] }) => stream.values)
      .sort((a: [string], b: [string]) => (a[0] < b[0] ? -1 : 1));
  const forward = await get('/loki/api/v1/query_range', {
    query: '{service_name="web"}',
    start: at(0),
    end: at(60),
    limit: '2',
    direction: 'forward',
  });
  assert.deepEqual(values(forward.body), [
    [at(1), byId.get('w1')!.line],
    [at(5), byId.get('w2')!.line],
  ]);
  const backward = await get('/loki/api/v1/query_range', { query: '{service_name="web"} != "bob"', start: at(0), end: at(60), limit: '2' });
  assert.deepEqual(values(backward.body), [
    [at(15), byId.get('w4')!.line],
    [at(25), byId.get('w6')!.line],
  ]);
});
