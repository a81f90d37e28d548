import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogRecord } from '../../../src/model/logRecord.js';
import { awkwardLogRecords, mesh, record } from '../../support/awkwardLogRecords.js';
import { clampNanos, closeLogRow, openLogRow, storedLogLine, type StoredLogRow } from '../../../src/storage/logs/logRows.js';

/**
 * openLogRow as it was first written: JSON.stringify of one object per row. Every
 * row sealed so far was hashed in this form, and the verifier rebuilds lines with
 * openLogRow: its bytes may never change, however it is written.
 */
function objectRow(record: LogRecord): string {
  const mesh = record.mesh;
  const unsigned = (value: number | undefined) => (value !== undefined && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0);
  const row = JSON.stringify({
    tenant: record.tenant,
    timestamp: clampNanos(record.timeUnixNano).toString(),
    observed_timestamp: clampNanos(record.observedTimeUnixNano).toString(),
    severity_number: record.severityNumber & 0xff,
    severity_text: record.severityText,
    service_name: record.serviceName,
    body: record.body.isWellFormed() ? record.body : record.body.toWellFormed(),
    resource_attributes: record.resource,
    scope_name: record.scopeName,
    scope_version: record.scopeVersion,
    log_attributes: record.attributes,
    trace_id: record.traceId,
    span_id: record.spanId,
    trace_flags: record.traceFlags & 0xff,
    event_name: record.eventName,
    mesh: mesh?.mesh ?? '',
    platform: mesh?.platform ?? '',
    cluster: mesh?.cluster ?? '',
    source_workload: mesh?.sourceWorkload ?? '',
    destination_workload: mesh?.destinationWorkload ?? '',
    protocol: mesh?.protocol ?? '',
    response_code: (mesh?.responseCode ?? 0) & 0xffff,
    duration_ms: Number.isFinite(mesh?.durationMs) ? mesh!.durationMs : 0,
    bytes_sent: unsigned(mesh?.bytesSent),
    bytes_received: unsigned(mesh?.bytesReceived),
    request_id: mesh?.requestId ?? '',
    receiver: record.receiver,
  });
  return record.patternId ? `${row.slice(0, -1)},"pattern_id":${JSON.stringify(record.patternId)}` : row.slice(0, -1);
}

for (const [name, input] of awkwardLogRecords) {
  test(`openLogRow writes the bytes sealed rows were hashed as: ${name}`, () => {
    assert.equal(openLogRow(input), objectRow(input));
    // The writer hands in the resource's JSON, serialized once for the records sharing it.
    assert.equal(openLogRow(input, JSON.stringify(input.resource)), objectRow(input));
  });
}

test('openLogRow closes into a line that parses back to the column values', () => {
  const line = `${openLogRow(record({ mesh, patternId: 'p1' }))}}`;
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.equal(parsed.timestamp, '1733550000123456789');
  assert.equal(parsed.response_code, 503);
  assert.equal(parsed.pattern_id, 'p1');
  assert.deepEqual(parsed.log_attributes, { 'http.route': '/api/checkout', thread: 'worker-3' });
});

test("a clustered record's stream position is written after every other column, and the stored row rebuilds the same line", () => {
  const input = record({ patternId: 'p1', stream: { seq: 9_007_199_254_740_991, pos: 4 } });
  const open = openLogRow(input);
  // Exactly the unclustered row, then the position: rows sealed before clustering keep their bytes.
  assert.equal(open, `${objectRow(input)},"stream_seq":9007199254740991,"stream_pos":4`);
  const parsed = JSON.parse(`${open}}`) as Record<string, unknown>;
  const stored = { ...parsed, chain_id: 'acme/w', batch_seq: 3, batch_pos: 0 } as unknown as StoredLogRow;
  assert.equal(storedLogLine(stored), closeLogRow(open, { chainId: 'acme/w', batchSeq: 3, batchPos: 0 }));
  // The engine may hand the 64-bit sequence back as a string; a row from before migration 28 has none.
  assert.equal(storedLogLine({ ...stored, stream_seq: '9007199254740991' }), storedLogLine(stored));
  const { stream_seq: _seq, stream_pos: _pos, ...unclustered } = stored;
  assert.equal(storedLogLine(unclustered), closeLogRow(objectRow(input), { chainId: 'acme/w', batchSeq: 3, batchPos: 0 }));
});
