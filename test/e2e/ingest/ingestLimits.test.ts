import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import grpc from '@grpc/grpc-js';
import snappy from 'snappy';
import { loadProtos } from '../../../src/formats/protoRoot.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest } from '../../support/otlpJson.js';
import { readCommitted } from '../../support/storageReader.js';

/**
 * Issue 17, items 5 and 6 over the wire: one record's time never fails its
 * neighbours (Loki's reject_old_samples / creation_grace_period model, per
 * protocol), and nesting past the documented limit is a 400, never a
 * retryable 503. See docs/ingest-limits.md.
 */

const logsRoot = loadProtos(['opentelemetry/proto/collector/logs/v1/logs_service.proto']);
const ExportLogsServiceRequest = logsRoot.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const ExportLogsServiceResponse = logsRoot.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const RpcStatus = loadProtos(['google/rpc/status.proto']).lookupType('google.rpc.Status');
const PushRequest = loadProtos(['logproto/push.proto']).lookupType('logproto.PushRequest');

let meshlog: RunningMeshlog;
before(async () => {
  // A one-week window, Loki's default, so "old" is easy to write; commits linger so concurrent requests share group commits.
  meshlog = await startMeshlog({ env: { MESHLOG_INGEST_REJECT_OLD_SAMPLES_MAX_AGE: '1w', MESHLOG_INGEST_BATCH_LINGER_MS: '50' } });
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

/** [tenant, bodies stored, bodies refused], checked in storage after the server stops. */
const expectStored: [string, string[], string[]][] = [];
const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const yearOneNs = -62_135_596_800_000_000_000n;

/** One length-delimited protobuf field. */
function field(number: number, bytes: Buffer): Buffer {
  const varint = (value: number) => {
    const out: number[] = [];
    while (value > 0x7f) {
      out.push((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out.push(value);
    return Buffer.from(out);
  };
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

function post(
  path: string,
  tenant: string,
  body: string | Uint8Array,
  contentType = 'application/json',
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${meshlog.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant, 'content-type': contentType, ...extra },
    body: body as BodyInit,
  });
}

async function bodiesOf(tenant: string): Promise<string[]> {
  const rows = await fetch(
    `${meshlog.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{service_name=~".+"}', limit: '5000', start: String(nowNs() - 3_600_000_000_000n) })}`,
    {
      headers: { authorization: `Bearer ${meshlog.token}`, 'x-scope-orgid': tenant },
    },
  );
  const json = (await rows.json()) as { data: { result: { values: [string, string][] }[] } };
  return json.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
}

test('a record stamped -5 ns is refused alone and 20 concurrent valid requests from another tenant succeed', async () => {
  const poisoned = JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'poison' } }] },
        scopeLogs: [
          {
            logRecords: [
              { timeUnixNano: '-5', body: { stringValue: 'stamped -5' } },
              { timeUnixNano: yearOneNs.toString(), body: { stringValue: 'stamped year 1' } },
              { body: { stringValue: 'neighbour in the same request' } },
            ],
          },
        ],
      },
    ],
  });
  const neighbours = Array.from({ length: 20 }, (_, index) =>
    post('/v1/logs', 'tenant-b', otlpJsonRequest('neighbour', [`neighbour ${index}`])),
  );
  const [attack, ...others] = await Promise.all([post('/v1/logs', 'tenant-a', poisoned), ...neighbours]);
  const answer = (await attack.json()) as { partialSuccess: { rejectedLogRecords?: string; errorMessage?: string } };
  assert.equal(attack.status, 200, JSON.stringify(answer));
  assert.equal(answer.partialSuccess.rejectedLogRecords, '2');
  assert.match(answer.partialSuccess.errorMessage ?? '', /timestamp .*(before 1970|too old)/);
  for (const response of others) {
    assert.equal(response.status, 200, await response.text());
  }
  assert.equal((await bodiesOf('tenant-b')).length, 20);
  assert.deepEqual(await bodiesOf('tenant-a'), ['neighbour in the same request']);
});

test('a record stamped year 1 or far in the future is refused on every protocol with its per-record answer', async () => {
  const now = nowNs();
  const old = now - 30n * 86_400_000_000_000n; // a month: outside the 1w window
  const future = now + 3_600_000_000_000n; // an hour ahead: past the 10m grace

  // OTLP/HTTP protobuf: partial_success (a fixed64 cannot be negative: the far future instead).
  const protobuf = ExportLogsServiceRequest.encode(
    ExportLogsServiceRequest.fromObject({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: '18446744073709551615', body: { stringValue: 'pb far future' } },
                { body: { stringValue: 'pb ok' } },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
  const pb = await post('/v1/logs', 'proto-c', protobuf, 'application/x-protobuf');
  assert.equal(pb.status, 200);
  const pbAnswer = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(new Uint8Array(await pb.arrayBuffer())), {
    longs: String,
  }) as { partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string } };
  assert.equal(pbAnswer.partialSuccess?.rejectedLogRecords, '1');
  assert.match(pbAnswer.partialSuccess?.errorMessage ?? '', /too new/);

  // OTLP/gRPC: the same partial_success.
  const client = new grpc.Client(meshlog.listeners.otlp_grpc, grpc.credentials.createInsecure());
  const grpcAnswer = await new Promise<Buffer>((resolve, reject) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${meshlog.token}`);
    metadata.set('x-scope-orgid', 'proto-c');
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.from(protobuf),
      metadata,
      (error, value) => (error ? reject(error) : resolve(value!)),
    );
  });
  client.close();
  const decodedGrpc = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(grpcAnswer), { longs: String }) as {
    partialSuccess?: { rejectedLogRecords?: string };
  };
  assert.equal(decodedGrpc.partialSuccess?.rejectedLogRecords, '1');

  // Loki push JSON: 400 naming the entry, the valid one stored (what Loki does with a mixed batch).
  const lokiJson = await post(
    '/loki/api/v1/push',
    'proto-c',
    JSON.stringify({
      streams: [
        {
          stream: { job: 'loki-json' },
          values: [
            [old.toString(), 'loki old'],
            [now.toString(), 'loki ok'],
          ],
        },
      ],
    }),
  );
  assert.equal(lokiJson.status, 400);
  assert.match(await lokiJson.text(), /entry for stream '\{job="loki-json"\}' has timestamp too old: .*oldest acceptable timestamp is/);

  // Loki push protobuf (snappy), as Promtail sends it.
  const pushed = PushRequest.encode(
    PushRequest.fromObject({
      streams: [
        {
          labels: '{job="loki-pb"}',
          entries: [
            { timestamp: { seconds: String(future / 1_000_000_000n), nanos: 0 }, line: 'loki pb future' },
            { timestamp: { seconds: String(now / 1_000_000_000n), nanos: 0 }, line: 'loki pb ok' },
          ],
        },
      ],
    }),
  ).finish();
  const lokiPb = await post('/loki/api/v1/push', 'proto-c', await snappy.compress(Buffer.from(pushed)), 'application/x-protobuf');
  assert.equal(lokiPb.status, 400);
  assert.match(await lokiPb.text(), /job="loki-pb".*too new/);

  // Elasticsearch _bulk: a per-item error, errors: true, the other item created.
  const bulk = await post(
    '/_bulk',
    'proto-c',
    [
      '{"create":{"_index":"logs"}}',
      '{"@timestamp":"0001-01-01T00:00:00Z","message":"es year 1"}',
      '{"create":{"_index":"logs"}}',
      `{"@timestamp":"${new Date().toISOString()}","message":"es ok"}`,
      '',
    ].join('\n'),
    'application/x-ndjson',
  );
  const bulkAnswer = (await bulk.json()) as { errors: boolean; items: { create: { status: number; error?: { reason: string } } }[] };
  assert.equal(bulk.status, 200);
  assert.equal(bulkAnswer.errors, true);
  assert.equal(bulkAnswer.items[0].create.status, 400);
  assert.match(bulkAnswer.items[0].create.error!.reason, /before 1970|too old/);
  assert.equal(bulkAnswer.items[1].create.status, 201);

  // Splunk HEC: 400 with invalid-event-number of the refused event, the other committed.
  const hec = await post('/services/collector/event', 'proto-c', `{"time":-5,"event":"hec -5"}{"event":"hec ok"}`);
  const hecAnswer = (await hec.json()) as { code: number; 'invalid-event-number': number; text: string };
  assert.equal(hec.status, 400, JSON.stringify(hecAnswer));
  assert.equal(hecAnswer['invalid-event-number'], 0);

  // Datadog: 400 after storing the rest.
  const datadog = await post(
    '/api/v2/logs',
    'proto-c',
    JSON.stringify([{ message: 'dd year 1', timestamp: '0001-01-01T00:00:00Z' }, { message: 'dd ok' }]),
  );
  assert.equal(datadog.status, 400);
  assert.match(await datadog.text(), /dd year 1.*(before 1970|too old)/);

  // Checked in storage once the server stops (the last test).
  expectStored.push([
    'proto-c',
    ['pb ok', 'loki ok', 'loki pb ok', 'es ok', 'hec ok', 'dd ok'],
    ['pb far future', 'loki old', 'loki pb future', 'es year 1', 'hec -5', 'dd year 1'],
  ]);

  // Traces: OTLP partial_success and Zipkin 400 for spans out of the window, the others stored.
  const traceId = '5b8efff798038103d269b633813fc60c';
  const spans = JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              { traceId, spanId: 'eee19b7ec3c1b174', name: 'old', startTimeUnixNano: '-5', endTimeUnixNano: '1' },
              {
                traceId,
                spanId: 'eee19b7ec3c1b175',
                name: 'ok',
                startTimeUnixNano: now.toString(),
                endTimeUnixNano: (now + 1000n).toString(),
              },
            ],
          },
        ],
      },
    ],
  });
  const traces = await post('/v1/traces', 'proto-c', spans);
  const tracesAnswer = (await traces.json()) as { partialSuccess: { rejectedSpans?: string; errorMessage?: string } };
  assert.equal(traces.status, 200);
  assert.equal(tracesAnswer.partialSuccess.rejectedSpans, '1');
  const zipkin = await post(
    '/api/v2/spans',
    'proto-c',
    JSON.stringify([
      { traceId, id: 'eee19b7ec3c1b176', name: 'zipkin old', timestamp: 1, duration: 5 },
      { traceId, id: 'eee19b7ec3c1b177', name: 'zipkin ok', timestamp: Number(now / 1000n), duration: 5 },
    ]),
  );
  assert.equal(zipkin.status, 400);
  assert.match(await zipkin.text(), /eee19b7ec3c1b176.*too old/);
});

test('an OTLP kvlist 5,000 levels deep is answered 400, not 503', async () => {
  // Written as text: JSON.stringify itself cannot go 5,000 levels deep.
  const deepValue = '{"kvlistValue":{"values":[{"key":"k","value":'.repeat(5000) + '{"stringValue":"bottom"}' + '}]}}'.repeat(5000);
  const json = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${deepValue}},{"body":{"stringValue":"shallow neighbour"}}]}]}]}`;
  const viaJson = await post('/v1/logs', 'deep', json);
  const jsonAnswer = (await viaJson.json()) as { partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string } };
  // The deep record alone is refused (partial_success names the limit); its neighbour is stored.
  assert.equal(viaJson.status, 200, JSON.stringify(jsonAnswer));
  assert.equal(jsonAnswer.partialSuccess?.rejectedLogRecords, '1');
  assert.match(jsonAnswer.partialSuccess?.errorMessage ?? '', /nested deeper than 100 levels/);

  // Protobuf: the decoder refuses the whole message (it is not read past 100 nested messages), 400 naming the limit.
  // Encoded by hand: protobufjs's own fromObject stops at 100 levels.
  let nested = field(1, Buffer.from('bottom')); // AnyValue.string_value
  for (let level = 0; level < 5000; level++) nested = field(6, field(1, Buffer.concat([field(1, Buffer.from('k')), field(2, nested)]))); // AnyValue.kvlist_value → KeyValueList.values → KeyValue{key, value}
  const protobuf = field(1, field(2, field(2, field(5, nested)))); // request.resource_logs → scope_logs → log_records → body
  const viaProtobuf = await post('/v1/logs', 'deep', protobuf, 'application/x-protobuf');
  assert.equal(viaProtobuf.status, 400);
  assert.equal(viaProtobuf.headers.get('retry-after'), null);
  const status = RpcStatus.toObject(RpcStatus.decode(new Uint8Array(await viaProtobuf.arrayBuffer()))) as { code: number; message: string };
  assert.equal(status.code, 3, 'INVALID_ARGUMENT');
  assert.match(status.message, /nested deeper than 100 levels/);
  expectStored.push(['deep', ['shallow neighbour'], []]);
});

test('JSON 50,000 levels deep is answered 400 naming the limit on Datadog, Elasticsearch, HEC, Loki and Zipkin, not 503', async () => {
  const deep = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const datadog = await post('/api/v2/logs', 'deep', `[{"message":"dd deep","x":${deep(50_000)}}]`);
  assert.equal(datadog.status, 400);
  assert.match(await datadog.text(), /nested deeper than 100 levels/);
  assert.equal(datadog.headers.get('retry-after'), null);

  const bulk = await post(
    '/_bulk',
    'deep',
    `{"index":{"_index":"x"}}\n{"message":"es deep","x":${deep(50_000)}}\n`,
    'application/x-ndjson',
  );
  const bulkAnswer = (await bulk.json()) as { errors: boolean; items: { index: { status: number; error?: { reason: string } } }[] };
  assert.equal(bulk.status, 200);
  assert.equal(bulkAnswer.items[0].index.status, 400);
  assert.match(bulkAnswer.items[0].index.error!.reason, /nested deeper than 100 levels/);

  const hec = await post('/services/collector/event', 'deep', `{"event":${deep(50_000)}}`);
  assert.equal(hec.status, 400);
  assert.match(await hec.text(), /nested deeper than 100 levels/);

  const loki = await post(
    '/loki/api/v1/push',
    'deep',
    `{"streams":[{"stream":{"job":"x"},"values":[["${nowNs()}","loki deep",${deep(50_000)}]]}]}`,
  );
  assert.equal(loki.status, 400);
  assert.match(await loki.text(), /nested deeper than 100 levels/);

  const zipkin = await post('/api/v2/spans', 'deep', `[{"traceId":"5b8efff798038103","id":"eee19b7ec3c1b174","tags":${deep(50_000)}}]`);
  assert.equal(zipkin.status, 400);
  assert.match(await zipkin.text(), /nested deeper than 100 levels/);

  const ready = await fetch(`${meshlog.url}/ready`);
  assert.equal(ready.status, 200);
});

test('nothing stored carries a time storage cannot hold', async () => {
  await meshlog.stop();
  const rows = await readCommitted<{ n: string }>(
    meshlog.dataDir,
    `SELECT count() AS n FROM meshlog.logs WHERE toUnixTimestamp64Nano(timestamp) <= 0`,
  );
  assert.equal(Number(rows[0].n), 0);
  for (const [tenant, stored, refused] of expectStored) {
    const bodies = new Set(
      (await readCommitted<{ body: string }>(meshlog.dataDir, `SELECT body FROM meshlog.logs WHERE tenant = '${tenant}'`)).map(
        (row) => row.body,
      ),
    );
    for (const body of stored) assert.ok(bodies.has(body), `${body} stored (got ${[...bodies].join(', ')})`);
    for (const body of refused) assert.ok(!bodies.has(body), `${body} refused`);
  }
});
