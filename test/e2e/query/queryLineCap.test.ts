import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';

let meshlog: RunningMeshlog;
const now = Date.now();

before(async () => {
  meshlog = await startMeshlog({ env: { MESHLOG_QUERY_MAX_LINES: '50' } });
  const values = Array.from({ length: 80 }, (_, i) => [`${now - 60_000 + i * 100}000000`, `line ${i}`]);
  const pushed = await fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${meshlog.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { service_name: 'capped' }, values }] }),
  });
  assert.equal(pushed.status, 204);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

const queryRange = (limit: number) =>
  fetch(`${meshlog.url}/loki/api/v1/query_range?query=${encodeURIComponent('{service_name="capped"}')}&since=10m&limit=${limit}`, {
    headers: { authorization: `Bearer ${meshlog.token}` },
  });

test("query.max_lines caps a log query and a tail's history with Loki's wording, and the UI session is told the cap", async () => {
  const atCap = await queryRange(50);
  assert.equal(atCap.status, 200);
  const body = (await atCap.json()) as { data: { result: { values: unknown[] }[] } };
  assert.equal(body.data.result[0]!.values.length, 50);

  const over = await queryRange(51);
  assert.equal(over.status, 400);
  // Loki's sentence, after meshlog's error category (as for parse errors).
  assert.equal(
    (await over.text()).trim(),
    'query exceeds a limit: max entries limit per query exceeded, limit > max_entries_limit (51 > 50)',
  );

  // A tail's history is capped alike.
  const tail = await fetch(`${meshlog.url}/api/v1/tail?query=${encodeURIComponent('{service_name="capped"}')}&limit=51`, {
    headers: { authorization: `Bearer ${meshlog.token}` },
  });
  assert.equal(tail.status, 400);
  assert.match(await tail.text(), /max entries limit per query exceeded, limit > max_entries_limit \(51 > 50\)/);

  const login = await fetch(`${meshlog.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: meshlog.url },
    body: JSON.stringify({ token: meshlog.token }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  assert.equal(((await login.json()) as { maxLinesPerQuery: number }).maxLinesPerQuery, 50);
});
