import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import snappy from 'snappy';
import { snappyBlockProblem } from '../../../src/ingest/sources/loki/lokiPush.js';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { readCommitted } from '../../support/storageReader.js';

let meshlog: RunningMeshlog;
before(async () => {
  meshlog = await startMeshlog();
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.kill();
});

async function push(body: Uint8Array | string, type: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${meshlog.token}`, 'Content-Type': type },
    body: typeof body === 'string' ? body : Uint8Array.from(body),
  });
  return { status: response.status, text: await response.text() };
}

/** A logproto.PushRequest with one stream per labels text, one entry each (hand-encoded protobuf). */
function pushRequest(streams: { labels: string; line: string }[]): Buffer {
  const field = (number: number, bytes: Buffer) => Buffer.concat([Buffer.from([(number << 3) | 2]), varint(bytes.length), bytes]);
  const varint = (value: number) => {
    const out: number[] = [];
    while (value > 0x7f) {
      out.push((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out.push(value);
    return Buffer.from(out);
  };
  const timestamp = Buffer.concat([Buffer.from([0x08]), varint(1_767_323_049)]);
  return Buffer.concat(
    streams.map(({ labels, line }) =>
      field(1, Buffer.concat([field(1, Buffer.from(labels)), field(2, Buffer.concat([field(1, timestamp), field(2, Buffer.from(line))]))])),
    ),
  );
}

test('a label name with a quote is refused as Loki does; the valid streams of the request are stored', async () => {
  const protobuf = await push(
    snappy.compressSync(
      pushRequest([
        { labels: '{bad name"}="x"}', line: 'quote in a label name' },
        { labels: '{service_name="cart"}', line: 'protobuf neighbour stored' },
        { labels: '{service.name="cart"}', line: 'dot in a label name' },
        { labels: '{job="a", job="b"}', line: 'duplicate label name' },
      ]),
    ),
    'application/x-protobuf',
  );
  assert.equal(protobuf.status, 400, protobuf.text);
  assert.match(protobuf.text, /3 entries or streams refused, 1 accepted/);
  assert.match(protobuf.text, /Error parsing labels '\{bad name"\}="x"\}' with error: invalid label name/);
  assert.match(protobuf.text, /Error parsing labels '\{service\.name="cart"\}'/);
  assert.match(protobuf.text, /has duplicate label name: 'job'/);

  const json = await push(
    JSON.stringify({
      streams: [
        { stream: { 'bad name"}': 'x' }, values: [['1767323049000000000', 'quote in a JSON label name']] },
        { stream: { '': 'x' }, values: [['1767323049000000000', 'empty JSON label name']] },
        { stream: { '1st': 'x' }, values: [['1767323049000000000', 'digit first']] },
        { stream: { service_name: 'cart' }, values: [['1767323049000000001', 'json neighbour stored']] },
      ],
    }),
    'application/json',
  );
  assert.equal(json.status, 400, json.text);
  assert.match(json.text, /3 entries or streams refused, 1 accepted/);
  assert.match(json.text, /Error parsing labels '\{"bad name\\"\}":"x"\}' with error: invalid label name "bad name\\"\}"/);
  assert.match(json.text, /invalid label name ""/);
});

test('8 bytes of garbage snappy are answered 400 not decodable', async () => {
  // The preamble varint ff ff ff ff 0f claims 4 GiB; what follows is no snappy block.
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02, 0x03]);
  const refused = await push(garbage, 'application/x-protobuf');
  assert.equal(refused.status, 400, refused.text);
  assert.match(refused.text, /not decodable snappy/);
  assert.doesNotMatch(refused.text, /MiB|bytes after snappy decompression/);
  // Random 8-byte bodies: always a 400, never a 413 or a 5xx.
  for (let i = 0; i < 50; i++) {
    const random = Buffer.from(Array.from({ length: 8 }, () => Math.floor(Math.random() * 256)));
    const answer = await push(random, 'application/x-protobuf');
    assert.equal(answer.status, 400, `${random.toString('hex')}: ${answer.text}`);
  }
});

test('a valid snappy block that really inflates past the limit is still 413; the walk agrees with snappy on valid blocks', async () => {
  // 64 MiB + 1 of zeros compresses to a few KB; it is a real block and it is too large.
  const huge = snappy.compressSync(Buffer.alloc(64 * 1024 * 1024 + 1));
  assert.equal(snappyBlockProblem(huge, 64 * 1024 * 1024 + 1), undefined);
  const tooLarge = await push(huge, 'application/x-protobuf');
  assert.equal(tooLarge.status, 413, tooLarge.text);
  for (const text of [
    '',
    'a',
    'abcabcabcabcabcabcabc',
    'x'.repeat(100_000),
    Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251)).toString('latin1'),
  ]) {
    const block = snappy.compressSync(Buffer.from(text, 'latin1'));
    assert.equal(snappyBlockProblem(block, Buffer.from(text, 'latin1').length), undefined, `length ${text.length}`);
    assert.notEqual(
      snappyBlockProblem(block.subarray(0, block.length - 1), Buffer.from(text, 'latin1').length),
      undefined,
      `cut, length ${text.length}`,
    );
  }
});

test('only the valid streams were stored', async () => {
  assert.equal(await meshlog.stop(), 0, meshlog.output());
  const rows = await readCommitted<{ body: string }>(meshlog.dataDir, 'SELECT body FROM meshlog.logs ORDER BY body');
  assert.deepEqual(
    rows.map((row) => row.body),
    ['json neighbour stored', 'protobuf neighbour stored'],
  );
});
