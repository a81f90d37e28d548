import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { syslogRecord } from '../../src/formats/syslog.js';
import { isTimeZone, zonedWallTimeToUtc } from '../../src/formats/zonedWallTime.js';

const wall = (iso: string) => Date.parse(`${iso}Z`);

test('a wall-clock time of an IANA zone is the UTC instant that zone showed it, in winter and summer time', () => {
  const cases: [string, string, string][] = [
    ['Europe/Berlin', '2026-01-15T10:00:00', '2026-01-15T09:00:00.000Z'],
    ['Europe/Berlin', '2026-07-15T10:00:00', '2026-07-15T08:00:00.000Z'],
    ['America/New_York', '2026-01-15T10:00:00', '2026-01-15T15:00:00.000Z'],
    ['America/New_York', '2026-07-15T10:00:00', '2026-07-15T14:00:00.000Z'],
    ['Asia/Kolkata', '2026-12-07T10:00:00', '2026-12-07T04:30:00.000Z'],
    ['Australia/Lord_Howe', '2026-01-15T10:00:00', '2026-01-14T23:00:00.000Z'],
    ['UTC', '2026-12-07T10:00:00', '2026-12-07T10:00:00.000Z'],
  ];
  for (const [zone, local, utc] of cases)
    assert.equal(new Date(zonedWallTimeToUtc(wall(local), zone)).toISOString(), utc, `${local} in ${zone}`);
  // Every minute of a day across the spring-forward change reads back to the same wall clock, or (the skipped hour) lies next to it.
  for (let minute = 0; minute < 24 * 60; minute += 7) {
    const local = wall('2026-03-29T00:00:00') + minute * 60_000;
    const utc = zonedWallTimeToUtc(local, 'Europe/Berlin');
    const shown = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', dateStyle: 'short', timeStyle: 'medium' })
      .format(new Date(utc))
      .replace(' ', 'T');
    const skipped = minute >= 120 && minute < 180;
    if (!skipped) assert.equal(shown, new Date(local).toISOString().slice(0, 19), `minute ${minute}`);
    else assert.ok(Math.abs(wall(shown) - local) <= 3_600_000, `minute ${minute}: ${shown}`);
  }
});

test('RFC 3164 timestamps are read in syslog.timezone; RFC 5424 timestamps keep their own offset', () => {
  const source = {
    tenant: 't',
    receiver: 'syslog_tcp',
    peer: '127.0.0.1:1',
    receivedUnixNano: BigInt(Date.parse('2026-12-07T06:00:00Z')) * 1_000_000n,
  };
  const time = (line: string, timeZone?: string) =>
    new Date(Number(syslogRecord(line, { ...source, timeZone }).timeUnixNano / 1_000_000n)).toISOString();
  assert.equal(time('<13>Dec  7 10:00:00 host app: local time', 'Asia/Kolkata'), '2026-12-07T04:30:00.000Z');
  assert.equal(time('<13>Dec  7 10:00:00 host app: no zone configured'), '2026-12-07T10:00:00.000Z');
  assert.equal(time('<13>1 2026-12-07T10:00:00+01:00 host app - - - own offset', 'Asia/Kolkata'), '2026-12-07T09:00:00.000Z');
});

test('syslog.timezone must be a zone Node knows, and says what it expects', () => {
  assert.ok(isTimeZone('Europe/Berlin') && isTimeZone('UTC') && !isTimeZone('Mars/Olympus') && !isTimeZone(''));
  assert.equal(configSchema.parse({}).syslog.timezone, 'UTC');
  const refused = configSchema.safeParse({ syslog: { timezone: 'Mars/Olympus' } });
  assert.equal(refused.success, false);
  assert.match(JSON.stringify(refused.error?.issues), /unknown time zone: an IANA name such as Europe\/Berlin/);
});
