import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { startMeshlog, tempDataDir, type RunningMeshlog } from '../../support/meshlogProcess.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';
import { waitFor } from '../../support/waitFor.js';

/** Read paths beyond query_range that the one read policy covers: a live tail's filter, index volumes. */

let meshlog: RunningMeshlog;
const keys: Record<string, string> = {};

const userIds = ['u-48151623', 'u-99887766'];

async function createKey(name: string, roles: string[]): Promise<string> {
  const response = await fetch(`${meshlog.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, roles, tenants: ['acme'] }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { key: string }).key;
}

/** One line of a service, its user a resource attribute (so the stream label `user_id`) when given. */
async function push(service: string, body: string, userId?: string): Promise<void> {
  const request = JSON.parse(otlpJsonRequest(service, [body]));
  if (userId) request.resourceLogs[0].resource.attributes.push({ key: 'user.id', value: { stringValue: userId } });
  const response = await postOtlpJson(meshlog.url, meshlog.token, JSON.stringify(request), { 'x-scope-orgid': 'acme' });
  assert.equal(response.status, 200);
}

async function get(path: string, token: string): Promise<any> {
  const response = await fetch(`${meshlog.url}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'acme' } });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

/** A Loki tail WebSocket of the key, open (subscribed) once this resolves, collecting every line it receives. */
async function openTail(query: string, token: string): Promise<{ lines: string[]; socket: WebSocket }> {
  const url = `${meshlog.url.replace('http', 'ws')}/loki/api/v1/tail?query=${encodeURIComponent(query)}`;
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'acme' } });
  const lines: string[] = [];
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { streams: { values: [string, string][] }[] };
    for (const stream of frame.streams) for (const [, line] of stream.values) lines.push(line);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { lines, socket };
}

before(async () => {
  const dir = tempDataDir('meshlog-masking-paths-');
  const configFile = join(dir, 'meshlog.yaml');
  writeFileSync(configFile, ['masking:', '  fields: [user.id]', ''].join('\n'));
  meshlog = await startMeshlog({ args: ['--config', configFile] });
  keys.analyst = await createKey('analyst', ['analyst']);
  keys.unmasker = await createKey('privileged analyst', ['analyst', 'unmasker']);
});

after(async () => {
  await meshlog.stop();
});

test('a live tail cannot learn a masked value from which new lines its line filter keeps', async () => {
  const query = `{service_name="tailprobe"} |~ "${userIds[0]}|probe done"`;
  const analyst = await openTail(query, keys.analyst!);
  const unmasker = await openTail(query, keys.unmasker!);
  try {
    await push('tailprobe', `login ok user.id=${userIds[0]} from tail`);
    // Committed after the secret line, so each tail has had its chance at that one when this arrives.
    await push('tailprobe', 'probe done');
    for (const tail of [analyst, unmasker]) await waitFor(() => tail.lines.includes('probe done'), { what: 'the closing line in a tail' });
    assert.deepEqual(analyst.lines, ['probe done'], 'the analyst tail kept a line by its masked value');
    // The filter does match the stored line: an unmasker's tail keeps it.
    assert.deepEqual(unmasker.lines, [`login ok user.id=${userIds[0]} from tail`, 'probe done']);
  } finally {
    analyst.socket.close();
    unmasker.socket.close();
  }
});

test('index volume broken down by a sensitive label answers its values masked, their bytes under one series', async () => {
  for (const userId of userIds) await push('volprobe', `checkout by ${userId}`, userId);
  const volume = (token: string) =>
    get(`/loki/api/v1/index/volume?query=${encodeURIComponent('{service_name="volprobe"}')}&targetLabels=user_id&since=1h`, token);
  const unmasked = await waitFor(
    async () => {
      const body = await volume(keys.unmasker!);
      return body.data.result.length === userIds.length ? body : undefined;
    },
    { what: 'both users in the unmasker volume' },
  );
  // The control: unmasked, the breakdown is by the stored values.
  assert.deepEqual(unmasked.data.result.map((sample: { metric: { user_id: string } }) => sample.metric.user_id).sort(), userIds);
  const total = unmasked.data.result.reduce((n: number, sample: { value: [number, string] }) => n + Number(sample.value[1]), 0);
  const masked = await volume(keys.analyst!);
  assert.deepEqual(
    masked.data.result.map((sample: { metric: Record<string, string>; value: [number, string] }) => [sample.metric, sample.value[1]]),
    [[{ user_id: '[MASKED]' }, String(total)]],
  );
  const range = await get(
    `/loki/api/v1/index/volume_range?query=${encodeURIComponent('{service_name="volprobe"}')}&targetLabels=user_id&since=1h&step=1h`,
    keys.analyst!,
  );
  assert.deepEqual(
    range.data.result.map((series: { metric: Record<string, string> }) => series.metric),
    [{ user_id: '[MASKED]' }],
  );
});
