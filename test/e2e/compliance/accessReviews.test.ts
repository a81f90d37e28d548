import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import canonicalize from 'canonicalize';
import { startMeshlog, type RunningMeshlog } from '../../support/meshlogProcess.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
let meshlog: RunningMeshlog;

interface Item {
  id: string;
  kind: string;
  name: string;
  roles: string[];
  tenants: string[];
  other_tenants: number;
  decidable: boolean;
  why_not?: string;
}
interface Review {
  review: string;
  tenant: string;
  state: string;
  items: Item[];
  decisions: Record<string, { decision: string; by: { name: string }; revoked: { keys: string[]; user: string | null } }>;
  sign_off: { statement: Record<string, unknown>; ed25519_signature: { algorithm: string; key: string; value: string } } | null;
}

async function api(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${meshlog.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function meshlogCli(args: string[], token: string) {
  return spawnSync(process.execPath, [cli, ...args, '--server', meshlog.url, '--token', token], { encoding: 'utf8' });
}

async function user(name: string, roles: string[], tenants: string[]): Promise<{ id: string; key: string }> {
  assert.equal((await api(meshlog.token, 'POST', '/api/v1/admin/users', { name, roles, tenants })).status, 201);
  const issued = await api(meshlog.token, 'POST', `/api/v1/admin/users/${name}/keys`, {});
  assert.equal(issued.status, 201);
  return issued.json as { id: string; key: string };
}

async function key(name: string, roles: string[], tenants: string[]): Promise<{ id: string; key: string }> {
  const created = await api(meshlog.token, 'POST', '/api/v1/admin/keys', { name, roles, tenants });
  assert.equal(created.status, 201);
  return created.json as { id: string; key: string };
}

const push = (token: string) =>
  fetch(`${meshlog.url}/loki/api/v1/push`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-scope-orgid': 'acme' },
    body: JSON.stringify({ streams: [{ stream: { service_name: 'review' }, values: [[`${Date.now()}000000`, 'still here']] }] }),
  });

const decide = (token: string, item: string, decision: 'keep' | 'revoke', comment = '') =>
  api(token, 'POST', `/api/v1/access-reviews/${reviewId}/items/${encodeURIComponent(item)}/decision`, { decision, comment });

const k: Record<string, { id: string; key: string }> = {};
let reviewId = '';
let startedAt = '';

before(async () => {
  meshlog = await startMeshlog();
  startedAt = new Date(Date.now() - 60_000).toISOString();
  k.rita = await user('rita', ['admin'], ['acme']);
  k.ada = await user('ada', ['admin'], ['acme']);
  k.otto = await user('otto', ['auditor'], ['acme']);
  k.ann = await user('ann', ['analyst'], ['acme']);
  k.carl = await user('carl', ['analyst'], ['acme']);
  k.bob = await user('bob', ['admin'], ['beta']);
  k.shipper = await key('shipper', ['ingester'], ['acme']);
  k.shared = await key('acme-and-beta reader', ['analyst'], ['acme', 'beta']);
});
after(async () => {
  if (meshlog.process.exitCode === null) await meshlog.stop();
});

test('meshlog access-review start freezes the population of the tenant: its keys and users, none of another tenant', async () => {
  const run = meshlogCli(['access-review', 'start', '--tenant', 'acme', '--output', 'json'], k.rita.key);
  assert.equal(run.status, 0, run.stderr);
  const review = JSON.parse(run.stdout) as Review;
  reviewId = review.review;
  assert.equal(review.tenant, 'acme');
  const ids = review.items.map((item) => item.id).sort();
  const expected = [
    'user:rita',
    'user:ada',
    'user:otto',
    'user:ann',
    'user:carl',
    ...['rita', 'ada', 'otto', 'ann', 'carl', 'shipper', 'shared'].map((name) => `key:${k[name].id}`),
  ].sort();
  assert.deepEqual(ids, expected);
  const shared = review.items.find((item) => item.id === `key:${k.shared.id}`)!;
  assert.deepEqual(
    [shared.tenants, shared.other_tenants],
    [['acme'], 1],
    'a tenant-A reviewer is told a grant reaches another tenant, not which',
  );
  assert.equal(shared.decidable, false, 'rita holds acme only, so she cannot keep a grant on beta');

  // A key created after the start is not part of this review.
  const later = await key('later', ['analyst'], ['acme']);
  const shown = await api(k.rita.key, 'GET', `/api/v1/access-reviews/${reviewId}`);
  assert.ok(!(shown.json.review as Review).items.some((item) => item.id === `key:${later.id}`));
  assert.match(meshlogCli(['access-review', 'start', '--tenant', 'acme'], k.ada.key).stderr, /409.*still open/);
});

test("another tenant's admin neither sees, decides, signs off nor starts the tenant's review", async () => {
  assert.deepEqual((await api(k.bob.key, 'GET', '/api/v1/access-reviews')).json.reviews, []);
  assert.equal((await api(k.bob.key, 'GET', `/api/v1/access-reviews/${reviewId}`)).status, 404);
  assert.equal((await decide(k.bob.key, `key:${k.shipper.id}`, 'revoke')).status, 404);
  assert.equal((await api(k.bob.key, 'POST', `/api/v1/access-reviews/${reviewId}/sign-off`, {})).status, 404);
  const start = await api(k.bob.key, 'POST', '/api/v1/access-reviews', { tenant: 'acme' });
  assert.equal(start.status, 403);
  const refusals = (await api(meshlog.token, 'GET', '/api/v1/audit?action=access_review.start&outcome=denied')).json.events as {
    actor_name: string;
    tenant: string;
  }[];
  assert.deepEqual(
    refusals.map((event) => [event.actor_name, event.tenant]),
    [['bob (user)', 'beta']],
    "the refused start is audited in bob's own tenant, not acme's",
  );
  assert.equal((await push(k.shipper.key)).status, 204, 'the refused revocation changed nothing');
});

test('a reviewer cannot decide their own grant, as a key or as the user it was issued to', async () => {
  const ownKey = await decide(k.rita.key, `key:${k.rita.id}`, 'keep');
  assert.equal(ownKey.status, 403);
  assert.match(String(ownKey.json.error), /nobody reviews their own grant/);
  assert.equal((await decide(k.rita.key, 'user:rita', 'keep')).status, 403);
  const denied = await api(meshlog.token, 'GET', '/api/v1/audit?action=access_review.decide&outcome=denied');
  assert.ok(
    (denied.json.events as { actor_name: string; target: string }[]).some((event) => event.target === `${reviewId}/key:${k.rita.id}`),
    'the refusal is an audit event of its own kind',
  );
});

test('a lesser role is refused: an analyst reads no review, an auditor cannot keep an admin grant', async () => {
  assert.equal((await api(k.ann.key, 'GET', '/api/v1/access-reviews')).status, 403);
  assert.equal((await decide(k.ann.key, `key:${k.shipper.id}`, 'revoke')).status, 403);
  assert.match(meshlogCli(['access-review', 'list'], k.ann.key).stderr, /403/);
  const auditorOnAdmin = await decide(k.otto.key, 'user:rita', 'keep');
  assert.equal(auditorOnAdmin.status, 403);
  assert.match(String(auditorOnAdmin.json.error), /cannot grant the roles admin/);
  assert.equal((await decide(meshlog.token, `key:${k.shipper.id}`, 'keep')).status, 403, 'the shared bootstrap token decides nothing');
  assert.equal((await push(k.shipper.key)).status, 204);
});

test('bad input gets a clear 4xx: unknown item, unknown decision, a second decision of one item', async () => {
  assert.equal((await decide(k.rita.key, 'key:000000000000', 'keep')).status, 404);
  const bad = await api(
    k.rita.key,
    'POST',
    `/api/v1/access-reviews/${reviewId}/items/${encodeURIComponent(`key:${k.shipper.id}`)}/decision`,
    { decision: 'maybe' },
  );
  assert.equal(bad.status, 400);
  assert.match(
    meshlogCli(['access-review', 'decide', reviewId, 'shipper', 'keep'], k.rita.key).stderr,
    /not an item id: items are key:<id> or user:<name>/,
  );
  assert.match(meshlogCli(['access-review', 'show', 'ar-nope'], k.rita.key).stderr, /404[\s\S]*access-review list/);
});

test('revoke takes effect at once: the revoked key gets 401, the revoked user is disabled with their keys', async () => {
  assert.equal((await push(k.shipper.key)).status, 204);
  const run = meshlogCli(
    ['access-review', 'decide', reviewId, `key:${k.shipper.id}`, 'revoke', '--comment', 'shipper retired'],
    k.rita.key,
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`revoked key\\(s\\) ${k.shipper.id}`));
  assert.equal((await push(k.shipper.key)).status, 401);
  assert.match(meshlogCli(['access-review', 'decide', reviewId, `key:${k.shipper.id}`, 'keep'], k.ada.key).stderr, /409.*already decided/);

  assert.equal((await decide(k.ada.key, 'user:carl', 'revoke', 'left the team')).status, 200);
  assert.equal(
    (await fetch(`${meshlog.url}/loki/api/v1/labels`, { headers: { authorization: `Bearer ${k.carl.key}`, 'x-scope-orgid': 'acme' } }))
      .status,
    401,
  );
  const users = (await api(meshlog.token, 'GET', '/api/v1/admin/users')).json.users as { name: string; state: string }[];
  assert.equal(users.find((candidate) => candidate.name === 'carl')!.state, 'disabled');
  const revocations = (await api(meshlog.token, 'GET', '/api/v1/audit?action=keys.revoke')).json.events as {
    target: string;
    detail: string;
  }[];
  assert.ok(
    revocations.some((event) => event.target === k.shipper.id && JSON.parse(event.detail).access_review === reviewId),
    'the revocation is audited as one, naming the review',
  );
});

test('sign-off is refused until every item is decided, then signed with Ed25519 that node:crypto verifies with the published key', async () => {
  const early = await api(k.rita.key, 'POST', `/api/v1/access-reviews/${reviewId}/sign-off`, {});
  assert.equal(early.status, 409);
  assert.match(String(early.json.error), /undecided/);

  // rita decides all but her own; ada decides rita's; the two-tenant key needs a reviewer of both.
  for (const item of [`key:${k.ada.id}`, 'user:ada', `key:${k.otto.id}`, 'user:otto', `key:${k.ann.id}`, 'user:ann'])
    assert.equal((await decide(k.rita.key, item, 'keep')).status, 200, item);
  // Carl's key went with carl: revoking it again records the decision and revokes nothing more.
  const carlKey = await decide(k.rita.key, `key:${k.carl.id}`, 'revoke');
  assert.deepEqual((carlKey.json.review as Review).decisions[`key:${k.carl.id}`].revoked, { keys: [], user: null });
  for (const item of [`key:${k.rita.id}`, 'user:rita']) assert.equal((await decide(k.ada.key, item, 'keep')).status, 200);
  const broad = await key('broad reviewer', ['admin'], ['acme', 'beta']);
  assert.equal((await decide(broad.key, `key:${k.shared.id}`, 'keep', 'reads both tenants by design')).status, 200);

  const run = meshlogCli(['access-review', 'sign-off', reviewId, '--comment', 'Q4 review complete', '--output', 'json'], k.rita.key);
  assert.equal(run.status, 0, run.stderr);
  const review = JSON.parse(run.stdout) as Review;
  assert.equal(review.state, 'signed_off');
  const { statement, ed25519_signature: signature } = review.sign_off!;
  assert.equal((statement.decisions as unknown[]).length, review.items.length);

  // Independently of meshlog's code: the published verifier key is <name>+<hash>+base64(0x01 || 32-byte Ed25519 key).
  const verifierKey = readFileSync(`${meshlog.dataDir}-signing.key.pub`, 'utf8').trim();
  assert.equal(signature.key, verifierKey);
  const raw = Buffer.from(verifierKey.split('+').slice(2).join('+'), 'base64');
  assert.equal(raw.length, 33);
  const publicKey = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]),
    format: 'der',
    type: 'spki',
  });
  const bytes = Buffer.from(canonicalize(statement)!, 'utf8');
  assert.equal(verify(null, bytes, publicKey, Buffer.from(signature.value, 'base64')), true);
  const altered = Buffer.from(canonicalize({ ...statement, comment: 'nothing to see' })!, 'utf8');
  assert.equal(verify(null, altered, publicKey, Buffer.from(signature.value, 'base64')), false, 'an altered statement does not verify');
  assert.match(meshlogCli(['access-review', 'sign-off', reviewId], k.ada.key).stderr, /409.*already signed off/);
  assert.equal((await decide(broad.key, `key:${k.rita.id}`, 'revoke')).status, 409, 'a signed-off review is final');
});

test('every step is an audit event of its own kind, and the SOC 2 report carries the review, its revocations and the verified sign-off', async () => {
  const events = (await api(meshlog.token, 'GET', '/api/v1/audit?action=access_review.&limit=1000')).json.events as {
    action: string;
    outcome: string;
  }[];
  const kinds = new Set(events.map((event) => `${event.action}/${event.outcome}`));
  for (const kind of [
    'access_review.start/success',
    'access_review.decide/success',
    'access_review.decide/denied',
    'access_review.sign_off/success',
  ])
    assert.ok(kinds.has(kind), kind);

  const to = new Date(Date.now() + 1000).toISOString();
  const report = await api(k.otto.key, 'GET', `/api/v1/reports/soc2?from=${startedAt}&to=${to}&tenant=acme`);
  assert.equal(report.status, 200, JSON.stringify(report.json));
  const sections = report.json.sections as { id: string; status: string; reason: string; data: Record<string, unknown> }[];
  const section = sections.find((candidate) => candidate.id === 'access_review')!;
  assert.equal(section.status, 'pass', section.reason);
  const [listed] = section.data.reviews as {
    review: string;
    revoked: number;
    population: { size: number };
    revocations: { item: string; audit_events: string[] }[];
    sign_off: { signature_check: { valid: boolean; by_this_server_key: boolean } };
  }[];
  assert.equal(listed!.review, reviewId);
  assert.equal(listed!.population.size, 12);
  assert.equal(listed!.revoked, 3);
  assert.deepEqual(listed!.sign_off.signature_check, { valid: true, by_this_server_key: true });
  const auditedRevocations = Object.fromEntries(listed!.revocations.map((revocation) => [revocation.item, revocation.audit_events.length]));
  assert.deepEqual(auditedRevocations, { [`key:${k.shipper.id}`]: 1, 'user:carl': 1, [`key:${k.carl.id}`]: 0 });
  const changes = sections.find((candidate) => candidate.id === 'changes')!.data.by_kind as Record<string, number>;
  for (const kind of ['access_review.start', 'access_review.decide', 'access_review.sign_off']) assert.ok(changes[kind]! > 0, kind);

  const beta = await api(k.bob.key, 'GET', `/api/v1/reports/soc2?from=${startedAt}&to=${to}&tenant=beta`);
  assert.equal(beta.status, 200);
  const betaSection = (beta.json.sections as { id: string; data: { reviews: { review: string }[] } }[]).find(
    (candidate) => candidate.id === 'access_review',
  )!;
  assert.deepEqual(betaSection.data.reviews, [], "tenant beta's report lists no review of acme");
});
