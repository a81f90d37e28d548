import { newLogRecord } from '../model/logRecord.js';
import { redactionStage, sensitiveMarkAttribute, type RedactionOptions } from './redactionStage.js';

export interface RedactionPreview {
  /** The line as it would be stored. */
  stored: string;
  /** Matches per rule. */
  matches: Record<string, number>;
  /** Observe mode: the rules the record would be marked with (its values are masked when read). */
  marked: string | undefined;
}

/**
 * What the configured redaction stage does to a sample line: the real stage
 * on a record of its own, so the answer is what ingest would store. Nothing
 * is counted in the server's redaction metric.
 */
export function redactionPreview(options: RedactionOptions | undefined): (line: string) => RedactionPreview {
  const matches = new Map<string, number>();
  const stage = options && redactionStage(options, (rule, count) => matches.set(rule, (matches.get(rule) ?? 0) + count));
  return (line) => {
    matches.clear();
    const record = newLogRecord({ tenant: 'default', body: line, receiver: 'redaction-preview' });
    if (stage) stage([record]);
    return { stored: record.body, matches: Object.fromEntries(matches), marked: record.attributes[sensitiveMarkAttribute] };
  };
}
