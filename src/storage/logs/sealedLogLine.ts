import type { SealedLineFormat } from '../../model/batchSeal.js';
import { compactLogColumns, storedCompactLogLine } from './compactLogRow.js';
import { storedLogLine, type StoredLogRow } from './logRows.js';

/** The line a stored row was sealed and inserted as, in its batch's format (a seal from before migration 29: JSONEachRow). */
export function sealedLogLine(row: StoredLogRow, format: SealedLineFormat = 'JSONEachRow'): string {
  return format === 'JSONCompactEachRow' ? storedCompactLogLine(row) : storedLogLine(row);
}

/** Where a sealed line says it belongs, in either format: what an archive's reader places it by. */
export interface SealedLinePlace {
  tenant: string;
  chain_id: string;
  batch_seq: number;
  batch_pos: number;
}

const at = (column: (typeof compactLogColumns)[number]) => compactLogColumns.indexOf(column);
const compactPlace = { tenant: at('tenant'), chain_id: at('chain_id'), batch_seq: at('batch_seq'), batch_pos: at('batch_pos') };

/** Parses a sealed line (throws on one that is not JSON) and reads its place. */
export function sealedLinePlace(line: string): SealedLinePlace {
  const parsed = JSON.parse(line) as unknown;
  if (Array.isArray(parsed)) {
    return {
      tenant: parsed[compactPlace.tenant] as string,
      chain_id: parsed[compactPlace.chain_id] as string,
      batch_seq: parsed[compactPlace.batch_seq] as number,
      batch_pos: parsed[compactPlace.batch_pos] as number,
    };
  }
  return parsed as SealedLinePlace;
}
