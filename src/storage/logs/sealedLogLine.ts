import type { SealedLineFormat } from '../../model/batchSeal.js';
import { compactLogColumns } from '../engine/logColumns.js';
import { storedCompactLogLine } from './compactLogRow.js';
import { storedLogLine, type StoredLogRow } from './logRows.js';

/** The line a stored row was sealed and inserted as, in its batch's format (a seal from before migration 29: JSONEachRow). */
export function sealedLogLine(row: StoredLogRow, format: SealedLineFormat = 'JSONEachRow'): string {
  return format === 'JSONCompactEachRow' ? storedCompactLogLine(row) : storedLogLine(row);
}

/**
 * The sealed line of a record handed out as its JSONEachRow object (archives
 * and incident bundles give users one shape whatever the batch's format):
 * for a compact batch, the array rebuilt from the object's values by the
 * writer's own serializer. Only an object spelt exactly as `storedLogLine`
 * spells it is rebuilt, so an added key or a re-spelt value cannot hide behind
 * a rebuild that drops it: any other text is returned as is and fails its
 * seal. An array (an archive from before records were objects) is the sealed
 * line itself.
 */
export function sealedLineOfRecord(record: string, format: SealedLineFormat = 'JSONEachRow'): string {
  if (format !== 'JSONCompactEachRow' || record.startsWith('[')) return record;
  try {
    const row = JSON.parse(record) as StoredLogRow;
    return storedLogLine(row) === record ? storedCompactLogLine(row) : record;
  } catch {
    return record;
  }
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
