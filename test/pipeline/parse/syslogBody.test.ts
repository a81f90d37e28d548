import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectAndParse } from '../../../src/pipeline/parse/detectFormat.js';

test('an RFC 5424 message carried as a body: header and structured data to attributes, MSG becomes the body', () => {
  const parsed = detectAndParse(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry',
    [],
  );
  assert.deepEqual(parsed, {
    format: 'syslog',
    mesh: '',
    time: '1065910455003000000',
    level: 'notice',
    message: 'An application event log entry',
    attributes: {
      'syslog.version': '1',
      'syslog.msgid': 'ID47',
      'syslog.sd.exampleSDID@32473.iut': '3',
      'syslog.sd.exampleSDID@32473.eventSource': 'Application',
      'syslog.facility': 'local4',
      'syslog.severity': 'notice',
      'syslog.hostname': 'mymachine.example.com',
      'syslog.appname': 'evntslog',
    },
  });
});

test('RFC 3164 with PRI, and a syslog file line without one (no level then)', () => {
  const bsd = detectAndParse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", []);
  assert.equal(bsd?.format, 'syslog');
  assert.equal(bsd?.level, 'crit');
  assert.equal(bsd?.message, "'su root' failed for lonvick on /dev/pts/8");
  assert.deepEqual(bsd?.attributes, {
    'syslog.facility': 'auth',
    'syslog.severity': 'crit',
    'syslog.hostname': 'mymachine',
    'syslog.appname': 'su',
  });
  assert.match(bsd?.time ?? '', /^\d{19}$/, 'the year is inferred from now, as the syslog receiver does');

  const file = detectAndParse('Nov 25 12:00:01 node-3 sshd[8123]: Accepted publickey for ops from 10.0.0.9 port 50122 ssh2', []);
  assert.equal(file?.level, '');
  assert.equal(file?.message, 'Accepted publickey for ops from 10.0.0.9 port 50122 ssh2');
  assert.deepEqual(file?.attributes, { 'syslog.procid': '8123', 'syslog.hostname': 'node-3', 'syslog.appname': 'sshd' });
  assert.equal(detectAndParse('<not syslog at all', []), undefined);
  assert.equal(detectAndParse('Starting server on port 8080', []), undefined);
});
