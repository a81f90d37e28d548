import type { LogRecord } from '../model/logRecord.js';
import { parseTimestampNanos } from './timestamp.js';
import { parseCriLine, type CriLine } from './criLine.js';
import { parseJsonObject } from './jsonObject.js';
import { parseDockerJsonLine, type DockerLogLine } from './dockerJsonFile.js';
import { streamKey } from './streamKey.js';

/** The line inside a container runtime's log line (CRI or Docker json-file), when the body is one. */
export function unwrapContainerLine(body: string): CriLine | DockerLogLine | undefined {
  const first = body.charCodeAt(0);
  if (first >= 48 && first <= 57) return parseCriLine(body);
  // Docker's json-file driver always writes `log` first.
  if (first === 123 && body.startsWith('{"log":')) {
    const object = parseJsonObject(body);
    return object && parseDockerJsonLine(object);
  }
  return undefined;
}

/**
 * Replaces CRI and Docker json-file lines by the line they carry (time and
 * stream kept), and joins partial lines (`P…F`, or Docker chunks without a
 * newline) of the same stream into the record of their first part. The
 * pipeline sees one batch at a time and holds nothing back between batches
 * (an acknowledged record must be committed): a line whose last part falls in
 * a later batch is stored in parts, marked `meshlog.partial`.
 */
export function unwrapContainerRecords(records: LogRecord[]): LogRecord[] {
  let open: Map<string, LogRecord> | undefined;
  const out: LogRecord[] = [];
  for (const record of records) {
    const line = unwrapContainerLine(record.body);
    if (line === undefined) {
      out.push(record);
      continue;
    }
    record.attributes['log.iostream'] = line.stream;
    record.attributes['meshlog.container_runtime'] = record.body.charCodeAt(0) === 123 ? 'docker' : 'cri';
    const key = open === undefined ? '' : streamKey(record);
    const first = open?.get(key);
    if (first) {
      first.body += line.content;
      if (!line.partial) {
        delete first.attributes['meshlog.partial'];
        open!.delete(key);
      }
      continue;
    }
    record.body = line.content;
    const time = parseTimestampNanos(line.time);
    if (time !== undefined) record.timeUnixNano = time;
    if (line.partial) {
      record.attributes['meshlog.partial'] = 'true';
      (open ??= new Map()).set(streamKey(record), record);
    }
    out.push(record);
  }
  return out;
}
