import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syslogRecord } from '../../src/formats/syslog.js';
import { SyslogFrameReader } from '../../src/ingest/sources/syslog/syslogFraming.js';

// 2026-11-25T12:00:00Z: RFC 3164 lines have no year and are placed relative to this.
const received = 1_795_608_000_000_000_000n;
const source = { tenant: 'default', receiver: 'syslog_tcp', peer: '10.0.0.9:40000', receivedUnixNano: received };

test('RFC 5424 examples from the RFC, with structured data and escapes', () => {
  const first = syslogRecord(
    "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8",
    source,
  );
  assert.equal(first.timeUnixNano, 1_065_910_455_003_000_000n);
  assert.equal(first.body, "'su root' failed for lonvick on /dev/pts/8");
  assert.equal(first.serviceName, 'su');
  assert.equal(first.severityNumber, 18);
  assert.equal(first.severityText, 'crit');
  assert.deepEqual(first.resource, { 'host.name': 'mymachine.example.com' });
  assert.deepEqual(first.attributes, {
    'syslog.facility': 'auth',
    'syslog.severity': 'crit',
    'syslog.version': '1',
    'syslog.msgid': 'ID47',
    'syslog.hostname': 'mymachine.example.com',
    'syslog.appname': 'su',
    'client.address': '10.0.0.9:40000',
  });

  const withZone = syslogRecord(
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    source,
  );
  assert.equal(withZone.timeUnixNano, 1_061_727_255_000_003_000n);
  assert.equal(withZone.attributes['syslog.procid'], '8710');
  assert.equal(withZone.attributes['syslog.facility'], 'local4');
  assert.equal(withZone.severityText, 'notice');

  const sd = syslogRecord(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"][meta path="C:\\\\x\\"y\\]z" path="second"][empty@1] BOMAn application event log entry',
    source,
  );
  assert.equal(sd.attributes['syslog.sd.exampleSDID@32473.iut'], '3');
  assert.equal(sd.attributes['syslog.sd.exampleSDID@32473.eventSource'], 'Application');
  assert.equal(sd.attributes['syslog.sd.examplePriority@32473.class'], 'high');
  assert.equal(sd.attributes['syslog.sd.meta.path'], 'C:\\x"y]z,second');
  assert.equal(sd.attributes['syslog.sd.empty@1'], '');
  assert.equal(sd.body, 'BOMAn application event log entry');

  const nil = syslogRecord('<13>1 - - - - - -', source);
  assert.equal(nil.body, '');
  assert.equal(nil.timeUnixNano, received, 'a nil TIMESTAMP is the time meshlog received it');
  assert.equal(nil.serviceName, '');
  assert.equal(nil.attributes['syslog.parse_error'], undefined);
});

test('RFC 3164 as logger, rsyslog and network gear write it', () => {
  const bsd = syslogRecord("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", source);
  assert.equal(bsd.timeUnixNano, BigInt(Date.UTC(2026, 9, 11, 22, 14, 15)) * 1_000_000n);
  assert.equal(bsd.serviceName, 'su');
  assert.equal(bsd.attributes['syslog.hostname'], 'mymachine');
  assert.equal(bsd.body, "'su root' failed for lonvick on /dev/pts/8");

  const withPid = syslogRecord('<30>Nov  5 01:02:03 web-1 nginx[1234]: GET /healthz 200', source);
  assert.equal(withPid.attributes['syslog.procid'], '1234');
  assert.equal(withPid.serviceName, 'nginx');
  assert.equal(withPid.severityText, 'info');
  assert.equal(withPid.body, 'GET /healthz 200');

  const noHost = syslogRecord('<13>Nov 25 11:59:00 sshd[77]: Accepted publickey for ann', source);
  assert.equal(noHost.attributes['syslog.hostname'], undefined);
  assert.equal(noHost.serviceName, 'sshd');

  const lastYear = syslogRecord('<13>Dec 31 23:59:59 host cron: ran', {
    ...source,
    receivedUnixNano: BigInt(Date.UTC(2027, 0, 1, 0, 0, 5)) * 1_000_000n,
  });
  assert.equal(lastYear.timeUnixNano, BigInt(Date.UTC(2026, 11, 31, 23, 59, 59)) * 1_000_000n);

  const rsyslogForward = syslogRecord('<86>2026-11-25T12:00:01.123456+00:00 node-1 sudo:   ann : TTY=pts/0', source);
  assert.equal(rsyslogForward.timeUnixNano, 1_795_608_001_123_456_000n);
  assert.equal(rsyslogForward.serviceName, 'sudo');
  assert.equal(rsyslogForward.body, '  ann : TTY=pts/0');
  assert.equal(rsyslogForward.attributes['syslog.facility'], 'authpriv');
});

test('unparsable lines are stored raw with the reason, never dropped', () => {
  const cases: [string, RegExp][] = [
    ['no priority at all', /missing <PRI>/],
    ['<999>1 2003-10-11T22:14:15Z host app - - - too high', /invalid PRI <999>/],
    ['<012>Oct 11 22:14:15 host app: leading zero', /invalid PRI <012>/],
    ['<34>1 2003-13-45T22:14:15Z host app - - - bad date', /invalid RFC 5424 TIMESTAMP/],
    ['<34>1 2003-10-11T22:14:15Z host app - - [origin x="1" message', /invalid SD-PARAM in \[origin\]/],
    ['<34>1 2003-10-11T22:14:15Z host app - - [origin x="1 message', /unterminated SD-PARAM value in \[origin\]/],
    ['<34>1 2003-10-11T22:14:15Z host app - - [origin x="1"', /SD-ELEMENT \[origin\] is not closed/],
    ['<34>1 2003-10-11T22:14:15Z host', /header ends before HOSTNAME/],
    ['<34>Foo 11 22:14:15 host app: bad month', /invalid RFC 3164 timestamp/],
  ];
  for (const [line, reason] of cases) {
    const record = syslogRecord(line, source);
    assert.equal(record.body, line);
    assert.match(record.attributes['syslog.parse_error'], reason, line);
    assert.equal(record.attributes['client.address'], '10.0.0.9:40000');
    assert.equal(record.timeUnixNano, received);
  }
});

test('Python SysLogHandler headers without a timestamp: <PRI>ident: msg, <PRI>ident[pid]: msg, <PRI>msg (as rsyslog accepts them)', () => {
  const ident = syslogRecord('<11>pyapp: disk full', source);
  assert.equal(ident.attributes['syslog.parse_error'], undefined);
  assert.equal(ident.serviceName, 'pyapp');
  assert.equal(ident.attributes['syslog.appname'], 'pyapp');
  assert.equal(ident.body, 'disk full');
  assert.equal(ident.severityText, 'err');
  assert.equal(ident.attributes['syslog.facility'], 'user');
  assert.equal(ident.timeUnixNano, received, 'no timestamp: the receipt time');
  assert.equal(ident.attributes['syslog.hostname'], undefined, 'no timestamp, no HOSTNAME either');

  const withPid = syslogRecord('<14>pyapp[4242]: started', source);
  assert.equal(withPid.serviceName, 'pyapp');
  assert.equal(withPid.attributes['syslog.procid'], '4242');
  assert.equal(withPid.body, 'started');

  // SysLogHandler without an ident: the formatted message right after <PRI>; nothing is taken for a host or tag.
  const bare = syslogRecord('<12>disk almost full on /var', source);
  assert.equal(bare.attributes['syslog.parse_error'], undefined);
  assert.equal(bare.serviceName, '');
  assert.equal(bare.body, 'disk almost full on /var');
  assert.equal(bare.severityText, 'warning');
  assert.equal(syslogRecord('<34>hello without a header', source).body, 'hello without a header');
});

test('Python SysLogHandler over TCP: NUL-terminated records, several per segment, are read apart', () => {
  const reader = new SyslogFrameReader(1024);
  const records = ['<11>plain no ident', '<12>myapp: with ident', '<14>myapp[123]: ident pid', '<10>tcp: CRITICAL formatted'];
  assert.deepEqual(reader.push(Buffer.from(records.map((record) => `${record}\0`).join(''))), records);
  // Split anywhere, mixed with LF-terminated and octet-counted frames on the same connection.
  const mixed = Buffer.from(`<13>a: one\0<13>b: two\n13 <13>c: three!<13>d: four\0`);
  const frames: string[] = [];
  for (const byte of mixed) frames.push(...reader.push(Buffer.from([byte])));
  frames.push(...reader.end());
  assert.deepEqual(frames, ['<13>a: one', '<13>b: two', '<13>c: three!', '<13>d: four']);
});

test('RFC 6587 framing is detected per frame and survives split reads', () => {
  const reader = new SyslogFrameReader(1024);
  const octet = '<13>1 - h app - - - héllo';
  const wire = Buffer.concat([
    Buffer.from(`${Buffer.byteLength(octet)} ${octet}`),
    Buffer.from('<13>Oct 11 22:14:15 h app: lf framed\n'),
    Buffer.from('12abc not a length, so a line\r\n'),
    Buffer.from(`${Buffer.byteLength(octet)} ${octet}\n`),
    Buffer.from('<13>Oct 11 22:14:15 h app: no final newline'),
  ]);
  const frames: string[] = [];
  // One byte at a time: the worst split a TCP stream can produce.
  for (const byte of wire) frames.push(...reader.push(Buffer.from([byte])));
  frames.push(...reader.end());
  assert.deepEqual(frames, [
    octet,
    '<13>Oct 11 22:14:15 h app: lf framed',
    '12abc not a length, so a line',
    octet,
    '<13>Oct 11 22:14:15 h app: no final newline',
  ]);

  const small = new SyslogFrameReader(16);
  assert.deepEqual(small.push(Buffer.from('99999 <13>too long for the limit\n')), ['99999 <13>too lo', 'ng for the limit']);
  assert.deepEqual(small.push(Buffer.from('5 <13>')), []);
  assert.deepEqual(small.end(), ['5 <13>'], 'a cut-short frame is kept as a line');
});

test('winston-syslog over TCP ends records with nothing: back-to-back RFC 3164 and RFC 5424 records are read apart at each header', () => {
  const reader = new SyslogFrameReader(1024);
  const bsd = [
    '<132>Dec  7 00:10:19 web-1 billing[13997]: {"level":"warning","message":"low <134>Dec  7 inside"}',
    '<131>Dec  7 00:10:19 web-1 billing[13997]: {"level":"error"}',
  ];
  const rfc5424 = [
    '<132>1 2026-12-07T00:10:19.115Z web-1 billing 13997 - - {"level":"warning"}',
    '<134>1 2026-12-07T00:10:19.116Z web-1 billing 13997 - - last',
  ];
  const frames: string[] = [];
  // One byte at a time: a header is recognised however the stream is split.
  for (const byte of Buffer.from([...bsd, ...rfc5424].join(''))) frames.push(...reader.push(Buffer.from([byte])));
  assert.deepEqual(frames, [...bsd, rfc5424[0]]);
  // The last record waits for the sender to fall silent; then it is whole.
  assert.equal(reader.unterminated(), rfc5424[1]);
  assert.deepEqual(reader.end(), []);
  // Half a line of plain text, or an octet-counted frame still arriving, is not a record yet.
  assert.deepEqual(reader.push(Buffer.from('plain text still arriv')), []);
  assert.equal(reader.unterminated(), undefined);
  assert.deepEqual(reader.push(Buffer.from('ing\n40 <13>1 2026-12-07T00:10:19Z h')), ['plain text still arriving']);
  assert.equal(reader.unterminated(), undefined);
  // A slow sender's line that starts with a header but has not shown back-to-back records is never cut by a pause.
  const slow = new SyslogFrameReader(1024);
  assert.deepEqual(slow.push(Buffer.from('<13>1 2026-12-01T00:00:00Z host app - - - still arriv')), []);
  assert.equal(slow.unterminated(), undefined);
  assert.deepEqual(slow.push(Buffer.from('ing\n')), ['<13>1 2026-12-01T00:00:00Z host app - - - still arriving']);
  // Text that merely contains a "<PRI>" is not cut there.
  const quoted = new SyslogFrameReader(1024);
  assert.deepEqual(quoted.push(Buffer.from('<13>Dec  7 00:10:19 h app: saw <13> and <13>Dec 7 in a message\n')), [
    '<13>Dec  7 00:10:19 h app: saw <13> and <13>Dec 7 in a message',
  ]);
});

test('a stream cut into chunks of any size frames exactly as when it arrives whole, and a record dripping in 16 bytes at a time is read once, not rescanned at every chunk', () => {
  const records = [
    '<13>1 2026-12-07T00:00:00.000Z host app - - - first',
    '<14>Dec  7 00:10:19 host app[7]: second, back to back\n',
    `${'<15>1 - host app - - - third'.length} <15>1 - host app - - - third`,
    '<12>1 2026-12-07T00:00:01Z host app - - - a line with <13> inside\n',
    'no header at all, a plain line\n',
    '<11>Dec  7 00:10:20 host app: ends with a NUL\0',
    '<13>1 2026-12-07T00:00:02Z host app - - - the last, unterminated',
  ];
  const stream = Buffer.from(records.join(''));
  const framesOf = (chunkSize: number) => {
    const reader = new SyslogFrameReader(1024);
    const frames: string[] = [];
    for (let at = 0; at < stream.length; at += chunkSize) frames.push(...reader.push(stream.subarray(at, at + chunkSize)));
    return [...frames, ...reader.end()];
  };
  const whole = framesOf(stream.length);
  assert.equal(whole.length, 7, JSON.stringify(whole));
  assert.equal(whole[2], '<15>1 - host app - - - third');
  for (const size of [1, 2, 3, 7, 16, 31, 64]) assert.deepEqual(framesOf(size), whole, `chunks of ${size} bytes`);

  // 250 KB in 16-byte chunks: each chunk is appended in place and searched once (18.9 s of blocked event loop
  // before, when every chunk copied and searched the record from its start; about 0.1 s now). Counted, not timed:
  // the bytes searched for a header stay linear in the record's length (per 16-byte chunk: the 32-byte header
  // probe, the new bytes and the 32 before them, where a header may straddle; quadratic was about 2 GB).
  const big = Buffer.from(`<13>1 2026-12-07T00:00:00Z host app - - - ${'x'.repeat(250_000)}`);
  const reader = new SyslogFrameReader(256 * 1024);
  let searched = 0;
  const toString = Buffer.prototype.toString;
  Buffer.prototype.toString = function (this: Buffer, ...args: Parameters<Buffer['toString']>) {
    if (args[0] === 'latin1') searched += this.length;
    return toString.apply(this, args);
  };
  try {
    for (let at = 0; at < big.length; at += 16) assert.deepEqual(reader.push(big.subarray(at, at + 16)), []);
  } finally {
    Buffer.prototype.toString = toString;
  }
  assert.ok(searched < 6 * big.length, `searched ${searched} bytes for a ${big.length}-byte record`);
  assert.deepEqual(reader.end(), [big.toString()]);
});
