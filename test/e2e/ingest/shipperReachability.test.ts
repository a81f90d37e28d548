import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { client as datadog, v2 } from '@datadog/datadog-api-client';
import { Client } from '@elastic/elasticsearch';
import { waitForCommitted } from '../../support/committedCount.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';
import type { StoredLogRow } from '../../../src/storage/logs/logRows.js';

/**
 * Issue 19: records whose shipper named no service must still be reachable by
 * a LogQL selector (service_name="unknown_service", as Loki does), a service
 * is derived from what the shipper did send first, and detected_level is in
 * Loki's vocabulary. Each sender is the real client, configured as its docs say.
 */

let meshlog: RunningMeshlog;
const portOf = (address: string) => address.split(':').pop()!;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

interface Stream {
  stream: Record<string, string>;
  values: [string, string][];
}

/** A LogQL log query over the last hour through the Loki API, as Grafana's data source sends it. */
async function logql(query: string): Promise<Stream[]> {
  const end = BigInt(Date.now() + 60_000) * 1_000_000n;
  const start = end - 3_600_000_000_000n;
  const search = new URLSearchParams({ query, start: start.toString(), end: end.toString(), limit: '1000', direction: 'forward' });
  const response = await fetch(`${meshlog.url}/loki/api/v1/query_range?${search}`, {
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'default' },
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return (JSON.parse(text) as { data: { result: Stream[] } }).data.result;
}

/** The stream labels each line of a query's answer came with, by line. */
async function linesOf(query: string): Promise<Map<string, Record<string, string>>> {
  const lines = new Map<string, Record<string, string>>();
  for (const stream of await logql(query)) for (const [, line] of stream.values) lines.set(line, stream.stream);
  return lines;
}

/** Python's logging.handlers.SysLogHandler, over UDP and TCP, with and without an ident, as its docs show. */
const pythonSender = `
import logging, logging.handlers, socket, sys
port_udp, port_tcp = int(sys.argv[1]), int(sys.argv[2])
udp = logging.handlers.SysLogHandler(address=('127.0.0.1', port_udp))
log = logging.getLogger('py-udp'); log.addHandler(udp); log.setLevel(logging.DEBUG)
log.error('python udp without ident')
udp.ident = 'pyworker: '
log.warning('python udp with ident')
udp.close()
tcp = logging.handlers.SysLogHandler(address=('127.0.0.1', port_tcp), socktype=socket.SOCK_STREAM)
log = logging.getLogger('py-tcp'); log.propagate = False; log.addHandler(tcp); log.setLevel(logging.DEBUG)
log.error('python tcp one, no ident')
tcp.ident = 'pytcp: '
log.critical('python tcp two')
log.info('python tcp three')
tcp.setFormatter(logging.Formatter('%(name)s: %(message)s'))
tcp.ident = ''
log.warning('python tcp four, named by its formatter')
tcp.close()
`;

test('Python SysLogHandler (UDP, TCP with NUL-terminated records), raw NUL-framed segments and non-syslog text are stored one record each', async () => {
  const udpPort = portOf(meshlog.listeners.syslog_udp);
  const tcpPort = portOf(meshlog.listeners.syslog_tcp);
  execFileSync('python3', ['-c', pythonSender, udpPort, tcpPort]);

  // Four NUL-terminated records in one segment, then text that is no syslog at all.
  const socket = connect(Number(tcpPort), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('<11>segment one\0<12>seg: two\0<14>seg[7]: three\0<10>seg: four\0');
  socket.end('plain text on the syslog port, no PRI\n');
  await new Promise((resolve) => socket.once('close', resolve));

  // util-linux logger: syslog's notice and crit, to check their detected_level.
  execFileSync('logger', [
    '--server',
    '127.0.0.1',
    '--port',
    tcpPort,
    '--tcp',
    '--rfc3164',
    '-t',
    'cron',
    '-p',
    'cron.notice',
    'logger notice line',
  ]);
  execFileSync('logger', [
    '--server',
    '127.0.0.1',
    '--port',
    tcpPort,
    '--tcp',
    '--rfc5424',
    '-t',
    'kernelish',
    '-p',
    'kern.crit',
    'logger crit line',
  ]);

  await waitForCommitted(meshlog, 'syslog_udp', 2);
  await waitForCommitted(meshlog, 'syslog_tcp', 11);
});

test('an Elasticsearch document without service.name, pino numeric levels and Datadog logs without service', async () => {
  const es = new Client({ node: meshlog.url, auth: { bearer: meshlog.token }, headers: { 'x-scope-orgid': 'default' } });
  const stats = await es.helpers.bulk<Record<string, unknown>>({
    datasource: [
      { '@timestamp': new Date().toISOString(), message: 'es document without service' },
      // What pino-elasticsearch indexes: pino's own fields, the level a number.
      { time: Date.now(), level: 50, msg: 'pino error through elasticsearch', pid: 1, hostname: 'h' },
      { time: Date.now(), level: 30, msg: 'pino info through elasticsearch', pid: 1, hostname: 'h' },
    ],
    onDocument: () => ({ create: { _index: 'shop-logs-2026.11.25' } }),
  });
  assert.equal(stats.successful, 3);

  const configuration = datadog.createConfiguration({
    authMethods: { apiKeyAuth: meshlog.token },
    baseServer: new datadog.BaseServerConfiguration(meshlog.url, {}),
  });
  const logs = new v2.LogsApi(configuration);
  await logs.submitLog({ body: [{ message: 'datadog log without service', hostname: 'i-1', additionalProperties: { status: 'error' } }] });
  await logs.submitLog({ body: [{ message: 'datadog log with a service tag', ddtags: 'service:billing,env:prod' }] });
});

test('every record is reachable by a LogQL selector: unknown_service, else what the shipper sent', async () => {
  const unknown = await linesOf('{service_name="unknown_service"}');
  for (const line of [
    'python udp without ident',
    'python tcp one, no ident',
    'segment one',
    'plain text on the syslog port, no PRI',
    'datadog log without service',
  ]) {
    assert.ok(unknown.has(line), `${line} in {service_name="unknown_service"}: ${JSON.stringify([...unknown.keys()])}`);
  }
  assert.equal(unknown.size, 5, JSON.stringify([...unknown.keys()]));

  const named: [string, string][] = [
    ['pyworker', 'python udp with ident'],
    ['pytcp', 'python tcp two'],
    ['pytcp', 'python tcp three'],
    ['py-tcp', 'python tcp four, named by its formatter'],
    ['seg', 'two'],
    ['seg', 'three'],
    ['seg', 'four'],
    // An index named by date names its service without the date.
    ['shop-logs', 'es document without service'],
    ['billing', 'datadog log with a service tag'],
  ];
  for (const [service, line] of named) {
    const lines = await linesOf(`{service_name="${service}"}`);
    assert.ok(lines.has(line), `${line} in {service_name="${service}"}: ${JSON.stringify([...lines.keys()])}`);
  }

  // Nothing stored is out of reach: every record of the run is matched by one selector.
  const all = await linesOf('{service_name=~".+"}');
  assert.equal(all.size, 18, JSON.stringify([...all.keys()]));
});

test('detected_level is Loki\'s vocabulary: {detected_level="error"} finds syslog err and pino 50, severity_text keeps the word sent', async () => {
  const errors = await linesOf('{detected_level="error"}');
  for (const line of ['python udp without ident', 'python tcp one, no ident', 'segment one', 'datadog log without service'])
    assert.ok(errors.has(line), `${line} is an error: ${JSON.stringify([...errors.keys()])}`);
  const pino = [...errors.keys()].find((line) => line.includes('pino error through elasticsearch'));
  assert.ok(pino, `pino level 50 is an error: ${JSON.stringify([...errors.keys()])}`);

  const expected: [string, string][] = [
    ['warn', 'python udp with ident'],
    ['critical', 'python tcp two'],
    ['info', 'python tcp three'],
    ['info', 'logger notice line'],
    ['critical', 'logger crit line'],
  ];
  for (const [level, line] of expected) {
    const lines = await linesOf(`{service_name=~".+", detected_level="${level}"}`);
    assert.ok(lines.has(line), `${line} at ${level}: ${JSON.stringify([...lines.keys()])}`);
  }
  const pinoInfo = await logql('{service_name="shop-logs", detected_level="info"}');
  assert.equal(pinoInfo.flatMap((stream) => stream.values).length, 1);

  // The syslog word as sent stays queryable as the syslog_severity attribute.
  const sent = await linesOf('{service_name=~".+"} | syslog_severity="err"');
  assert.ok(sent.has('python udp without ident'));
  assert.ok(!sent.has('python udp with ident'));
});

test("Grafana's POSTs: query_range, query, labels and label values take a form body as Loki does, same answers as GET", async () => {
  const end = BigInt(Date.now() + 60_000) * 1_000_000n;
  const range = { start: (end - 3_600_000_000_000n).toString(), end: end.toString() };
  const call = async (method: 'GET' | 'POST', path: string, params: Record<string, string>) => {
    const form = new URLSearchParams(params).toString();
    const headers: Record<string, string> = { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': 'default' };
    if (method === 'POST') headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(`${meshlog.url}${path}${method === 'GET' ? `?${form}` : ''}`, {
      method,
      headers,
      body: method === 'POST' ? form : undefined,
    });
    const text = await response.text();
    assert.equal(response.status, 200, `${method} ${path}: ${text}`);
    const body = JSON.parse(text) as { data: { stats?: unknown } };
    delete body.data.stats; // timings differ
    return body;
  };
  const cases: [string, Record<string, string>][] = [
    ['/loki/api/v1/query_range', { query: '{service_name="unknown_service"}', ...range, direction: 'forward' }],
    ['/loki/api/v1/query', { query: 'sum(count_over_time({service_name=~".+"}[2h]))', time: range.end }],
    ['/loki/api/v1/labels', range],
    ['/loki/api/v1/label/service_name/values', range],
  ];
  for (const [path, params] of cases) {
    const posted = await call('POST', path, params);
    assert.deepEqual(posted, await call('GET', path, params), path);
  }
  const values = (await call('POST', '/loki/api/v1/label/service_name/values', range)) as unknown as { data: string[] };
  assert.ok(values.data.includes('unknown_service'), JSON.stringify(values));
});

test('severity_text keeps the level word each shipper sent', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<StoredLogRow>(meshlog.dataDir, 'SELECT * FROM meshlog.logs');
  const textOf = (needle: string) => {
    const row = rows.find((candidate) => candidate.body.includes(needle));
    assert.ok(row, needle);
    return row.severity_text;
  };
  assert.equal(textOf('python udp without ident'), 'err');
  assert.equal(textOf('python tcp two'), 'crit');
  assert.equal(textOf('python udp with ident'), 'warning');
  assert.equal(textOf('logger notice line'), 'notice');
  assert.equal(textOf('pino error through elasticsearch'), '50');
});
