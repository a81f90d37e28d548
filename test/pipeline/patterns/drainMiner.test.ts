import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DrainMiner, patternTemplate } from '../../../src/pipeline/patterns/drainMiner.js';
import { messageTokens } from '../../../src/pipeline/patterns/messageTokens.js';

test('variables are masked whole: numbers, ids, IPs, hex, UUIDs, paths, host names, dates', () => {
  assert.deepEqual(messageTokens('Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6'), [
    'Received',
    'block',
    '<*>',
    'of',
    'size',
    '<*>',
    'from',
    '<*>',
  ]);
  assert.deepEqual(messageTokens('instance 6e6b7f4c-1f4e-4a8b-9d6c-2b8f3a9c1d2e at 0x7ffd5e8c key deadbeefcafe'), [
    'instance',
    '<*>',
    'at',
    '<*>',
    'key',
    '<*>',
  ]);
  assert.deepEqual(messageTokens('GET /api/v1/users from mail.example.com'), ['GET', '<*>', 'from', '<*>']);
  assert.deepEqual(messageTokens('connection from 1.2.3.4 at Fri Jun 17 07:07:00 2005'), ['connection', 'from', '<*>', 'at', '<*>']);
  // An empty value where a value usually is (`()`) is a variable too.
  assert.deepEqual(messageTokens('connection from 1.2.3.4 () at noon'), ['connection', 'from', '<*>', 'at', 'noon']);
  // A run of variables is one wildcard, whatever separates them.
  assert.deepEqual(messageTokens('peers 10.0.0.1,10.0.0.2 up'), ['peers', '<*>', 'up']);
});

test('a word ending in one digit is a name, not a variable; more digits make it one', () => {
  // eth10, node-129, blk_7 and x1 (one letter) are variables, and a run of them is one.
  assert.deepEqual(messageTokens('Link Up on en0 MDNS: IPV6 Addr: fe80::1 via eth10 node-129 blk_7 x1'), [
    'Link',
    'Up',
    'on',
    'en0',
    'MDNS:',
    'IPV6',
    'Addr:',
    '<*>',
    'via',
    '<*>',
  ]);
});

test('a size or duration is one variable with its unit, however it is written', () => {
  assert.deepEqual(messageTokens('stored (estimated size 93.0 B, free 317.1 KB)'), ['stored', '(estimated', 'size', '<*>', 'free', '<*>']);
  assert.deepEqual(messageTokens('close, 1190 bytes (1.16 KB) sent in 30 ms, lifetime <1 sec'), [
    'close',
    '<*>',
    'bytes',
    '<*>',
    'sent',
    'in',
    '<*>',
    'lifetime',
    '<*>',
  ]);
  // A unit word stays a word where no number precedes it.
  assert.deepEqual(messageTokens('KB B ms s per page'), ['KB', 'B', 'ms', 's', 'per', 'page']);
});

test('a named value keeps its name and masks the value', () => {
  assert.deepEqual(messageTokens('setSystemUiVisibility vis=40000500 mask=ffffffff oldVal=508 state:7 user=root'), [
    'setSystemUiVisibility',
    'vis=<*>',
    'mask=<*>',
    'oldVal=<*>',
    'state:<*>',
    'user=root',
  ]);
  // Values of values: the innermost name stays.
  assert.deepEqual(messageTokens('release:lock=233570404 UserInfo={NSErrorFailingURLKey=https://gsp.apple.com/x'), [
    'release:lock=<*>',
    'UserInfo={NSErrorFailingURLKey=<*>',
  ]);
  // Host and component names as values.
  assert.deepEqual(messageTokens('rhost=zummit.com topActivity=ComponentInfo{com.tencent.mm/com.tencent.mm.ui.LauncherUI}'), [
    'rhost=<*>',
    'topActivity=<*>',
  ]);
  // A variable name (a time, host:port, an address) masks the whole token; so does a MAC or IPv6 address.
  assert.deepEqual(messageTokens('at 07:07:00 to db.example.com:5432 from 10.0.0.1:80'), ['at', '<*>', 'to', '<*>', 'from', '<*>']);
  assert.deepEqual(messageTokens('chip FF:F2:9F:16:E2:23 peer fe80::1 url http://example.com'), [
    'chip',
    '<*>',
    'peer',
    '<*>',
    'url',
    '<*>',
  ]);
  // A value spread over several tokens is one variable; an unnamed bracketed value is judged whole.
  assert.deepEqual(messageTokens('bounds=Rect(0, 0 - 720, 1280) nodes:node-[224 228] from (host.example.net)'), [
    'bounds=<*>',
    '-',
    '<*>',
    'nodes:<*>',
    'from',
    '<*>',
  ]);
});

test('named values count against similarity, as wildcards do: messages that differ in their constant words stay apart', () => {
  const miner = new DrainMiner();
  const root = miner.add('authentication failure uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4 user=root');
  const guest = miner.add('authentication failure uid=0 euid=0 tty=ssh ruser= rhost=5.6.7.8 user=guest');
  assert.notEqual(guest.id, root.id);
  assert.equal(miner.add('authentication failure uid=0 euid=0 tty=ssh ruser= rhost=9.9.9.9 user=root').id, root.id);
  // Lines of named values alone still find their pattern.
  const touch = miner.add('onTouchEvent x=271.0 y=14.0');
  assert.equal(miner.add('onTouchEvent x=296.0 y=327.0').id, touch.id);
});

test('a named value under another name makes another pattern, however alike the rest', () => {
  // Linux (Loghub): the same words, but PAM's `(uid=0)` and login's `LOGIN(uid=0)` are different events.
  const miner = new DrainMiner();
  const pam = miner.add('session opened for user cyrus by (uid=0)');
  assert.equal(miner.add('session opened for user news by (uid=9)').id, pam.id);
  const login = miner.add('session opened for user root by LOGIN(uid=0)');
  assert.notEqual(login.id, pam.id);
  assert.equal(patternTemplate(pam), 'session opened for user <*> by (uid=<*>');
  assert.equal(miner.add('session opened for user test by LOGIN(uid=0)').id, login.id);
});

test('messages that differ only in optional variable parts share a pattern, whichever comes first', () => {
  // Proxifier (Loghub): the size in KB or MB is there only past 1 KB; Loghub's truth has one template for both.
  const lines = [
    'proxy.cse.cuhk.edu.hk:5070 close, 403 bytes sent, 426 bytes received, lifetime <1 sec',
    'proxy.cse.cuhk.edu.hk:5070 close, 1190 bytes (1.16 KB) sent, 2240 bytes (2.18 KB) received, lifetime 00:02',
    'proxy.cse.cuhk.edu.hk:5070 close, 0 bytes sent, 1286 bytes (1.25 KB) received, lifetime 02:05:33',
  ];
  for (const order of [lines, [...lines].reverse()]) {
    const miner = new DrainMiner();
    const ids = order.map((line) => miner.add(line).id);
    assert.deepEqual(new Set(ids).size, 1, order[0]);
    assert.equal(miner.size, 1);
    // Different constants keep their own pattern even with the same variables.
    assert.notEqual(miner.add('proxy.cse.cuhk.edu.hk:5070 open, 403 bytes sent, 426 bytes received, lifetime <1 sec').id, ids[0]);
  }
});

test('a template whose constants became variables takes lines with its new constants and variables elsewhere; a forgotten one takes none', () => {
  const miner = new DrainMiner();
  const first = miner.add('stage one of plan: job alpha finished');
  assert.equal(miner.add('stage one of plan: job beta finished').id, first.id);
  assert.equal(patternTemplate(first), 'stage one of plan: job <*> finished');
  assert.equal(miner.add('stage one of plan: job 7 finished 9 10').id, first.id);
  assert.equal(first.count, 3);
  miner.forget(first.id);
  const after = miner.add('stage one of plan: job 7 finished 9 10');
  assert.notEqual(after.id, first.id);
  assert.equal(after.count, 1);
  assert.equal(miner.size, 1);
});

test('similar messages share a pattern whose differing tokens become <*>; different ones do not', () => {
  const miner = new DrainMiner('tenant\0svc');
  const first = miner.add('Started container web for pod frontend');
  const second = miner.add('Started container api for pod frontend');
  const other = miner.add('Stopped sandbox for pod frontend');
  assert.equal(second.id, first.id);
  assert.equal(patternTemplate(first), 'Started container <*> for pod frontend');
  assert.equal(first.count, 2);
  assert.notEqual(other.id, first.id);
  assert.equal(miner.size, 2);
});

test('pattern ids derive from the key and the first template, so a restart re-derives them', () => {
  const a = new DrainMiner('t\0svc').add('user 42 logged in');
  const b = new DrainMiner('t\0svc').add('user 7 logged in');
  const c = new DrainMiner('t\0other').add('user 42 logged in');
  assert.equal(a.id, b.id);
  assert.notEqual(a.id, c.id);
  assert.match(a.id, /^[0-9a-f]{16}$/);
});

test('a message as variable as its template (never similar enough, even to the template born from it) keeps that pattern, past the id memo bound', () => {
  const options = { prefixTokens: 2, similarity: 0.7, maxChildren: 100, maxTemplates: 3 };
  const miner = new DrainMiner('t\0svc', options);
  // Half of the tokens are variables: 0.5 similarity against its own template, so each line is found by its template's id.
  const shapes = ['order 1 via v2', 'cart 1 at 12', 'pay 1 to 44', 'ship 1 by 99', 'order 2 via v3'];
  const first = shapes.map((line) => new DrainMiner('t\0svc', options).add(line).id);
  for (let round = 0; round < 3; round++) {
    shapes.forEach((line, i) => {
      const pattern = miner.add(line);
      assert.equal(pattern.id, first[i], `${line}, round ${round}`);
    });
  }
  assert.equal(miner.size, 3);
  assert.equal(miner.add('order 7 via v8').id, first[0]);
});

test('restored templates keep their ids and take new matching lines', () => {
  const miner = new DrainMiner('k');
  miner.restore('0123456789abcdef', 'disk <*> is full', 5);
  const pattern = miner.add('disk 3 is full');
  assert.equal(pattern.id, '0123456789abcdef');
  assert.equal(pattern.count, 6);
});

test('past maxTemplates the least recently matched template is forgotten', () => {
  const miner = new DrainMiner('k', { prefixTokens: 2, similarity: 0.7, maxChildren: 100, maxTemplates: 2 });
  const kept = miner.add('alpha happened');
  miner.add('beta occurred here');
  miner.add('alpha happened');
  miner.add('gamma shows up now too');
  assert.equal(miner.size, 2);
  assert.deepEqual([...miner.patterns()].map(patternTemplate).sort(), ['alpha happened', 'gamma shows up now too']);
  assert.equal(miner.add('alpha happened').id, kept.id);
});

test('mining the same lines again finds the same patterns: counts add up to the lines mined', () => {
  const miner = new DrainMiner();
  const lines = ['a 1 b', 'a 2 c', 'x y 3 z w', 'x y 4 q w', 'p 5 6 7 q', 'p 8 r'];
  for (let round = 0; round < 3; round++) for (const line of lines) miner.add(line);
  const patterns = [...miner.patterns()];
  assert.equal(
    patterns.reduce((sum, pattern) => sum + pattern.count, 0),
    lines.length * 3,
  );
});
