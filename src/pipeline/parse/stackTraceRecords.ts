import type { LogRecord } from '../../model/logRecord.js';
import { continuesStackTrace, type StackTraceState } from './stackTraceLines.js';
import { streamKey } from '../../formats/streamKey.js';

/**
 * Joins records that continue a stack trace (one line per record, as file
 * shippers send them) into the record before them, when both come from the
 * same stream. Within one batch only (nothing is held between batches).
 */
export function joinStackTraceRecords(records: LogRecord[]): LogRecord[] {
  const out: LogRecord[] = [];
  const state: StackTraceState = { kind: '' };
  let previous: LogRecord | undefined;
  let previousKey: string | undefined;
  for (const record of records) {
    if (previous !== undefined && continuesStackTrace(record.body, true, state)) {
      previousKey ??= streamKey(previous);
      if (streamKey(record) === previousKey) {
        previous.body += `\n${record.body}`;
        continue;
      }
    } else if (previous === undefined) {
      continuesStackTrace(record.body, false, state);
    }
    out.push(record);
    previous = record;
    previousKey = undefined;
  }
  return out;
}
