import type { DeletionEntry } from '../retention/deletionLedger.js';
import { erasureMatch, executedRequest } from '../retention/erasureRequests.js';
import { BackupStore } from '../storage/stores/backupStore.js';
import { ErasureStore } from '../storage/stores/erasureStore.js';
import { SealStore, type SealEvent } from '../storage/logs/sealStore.js';
import type { Storage } from '../storage/engine/storage.js';

export interface ReapplySummary {
  /** Ledger entries that changed the restored data (taken after the backup, or not all in it). */
  erasures: string[];
  disposals: number;
  records: number;
  spans: number;
  patterns: number;
}

const eventKey = (event: SealEvent) => `${event.chain_id}\0${event.batch_seq}\0${event.kind}\0${event.detail}`;

/**
 * Runs every erasure and disposal of a deletion ledger again over restored
 * data: the same records (by chain, batch and position), the same span scope
 * and holds, the same chain events, and the request marked executed. An entry
 * the backup already holds changes nothing, so re-applying is safe in any order of events.
 */
export async function reapplyDeletions(storage: Storage, entries: DeletionEntry[]): Promise<ReapplySummary> {
  const seals = new SealStore(storage);
  const erasures = new ErasureStore(storage);
  const requests = new Map((await erasures.list()).map((request) => [request.id, request]));
  const known = new Map<string, Set<string>>();
  const summary: ReapplySummary = { erasures: [], disposals: 0, records: 0, spans: 0, patterns: 0 };
  // Batches the restored chains never reached are not explained ahead: a restored server seals new batches under those numbers.
  const heads = await new BackupStore(storage).chainHeads();
  for (const entry of entries) {
    const missing: SealEvent[] = [];
    for (const event of entry.events.filter((candidate) => candidate.batch_seq <= (heads[candidate.chain_id] ?? 0))) {
      let chainEvents = known.get(event.chain_id);
      if (!chainEvents) known.set(event.chain_id, (chainEvents = new Set((await seals.events(event.chain_id)).map(eventKey))));
      if (!chainEvents.has(eventKey(event))) {
        missing.push(event);
        chainEvents.add(eventKey(event));
      }
    }
    await seals.insertEvents(missing);
    const batches = entry.kind === 'erasure' ? entry.plan.batches : entry.batches;
    const records = await erasures.deletePositions(batches);
    let changed = missing.length > 0 || records > 0;
    summary.records += records;
    if (entry.kind === 'erasure') {
      const match = erasureMatch(storage.database, entry.request);
      const spans = await erasures.deleteSpans(match.spans, entry.holds, entry.plan.spansUpToMs);
      const { orphaned, removed: patterns } = await erasures.removeOrphanedPatterns(entry.request.tenant, entry.plan.patterns);
      if (requests.get(entry.request.id)?.status !== 'executed') {
        await erasures.save(
          executedRequest(entry.request, entry.plan, orphaned.length, {
            at: new Date(entry.at),
            trigger: entry.trigger,
            by: entry.executedBy,
            streamCoveredUntil: entry.streamCoveredUntil ?? entry.at,
            streamCoveredUntilSeq: entry.streamCoveredUntilSeq,
          }),
        );
        changed = true;
      }
      summary.spans += spans;
      summary.patterns += patterns.length;
      if (changed || spans > 0 || patterns.length > 0) summary.erasures.push(entry.request.id);
    } else if (changed) {
      summary.disposals++;
    }
  }
  return summary;
}
