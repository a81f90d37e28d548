import type { LogRecord } from '../model/logRecord.js';

/**
 * The stages between receivers and the writer (parse, normalize, redact…),
 * applied in order. Each stage is a function over a batch of records.
 */
export type Stage = (records: LogRecord[]) => LogRecord[];

export function composeStages(stages: Stage[]): Stage {
  return (records) => stages.reduce((current, stage) => stage(current), records);
}
