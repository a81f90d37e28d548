import type { IntegritySectionData } from '../api/reports.js';
import { verifyIntegrity } from '../integrity/verifier.js';
import { isoOfStored, parseStoredTime, type ReportSection, type SectionInput } from './reportModel.js';

/** A chain whose first batch is older than this and that has no signed checkpoint needs a look (checkpoints come every few seconds). */
const unsignedAfterMs = 3_600_000;
const maxFindingsShown = 100;

/** Integrity: a full verification of the period, the head of every chain and its latest signed checkpoint. */
export async function integritySection({ sources, period }: SectionInput): Promise<ReportSection> {
  const base = { id: 'integrity', title: 'Log integrity (hash chains and signed checkpoints)', criteria: ['PI1.4', 'PI1.5', 'CC7.1'] };
  const integrity = sources.integrity;
  if (!integrity) {
    return {
      ...base,
      status: 'fail',
      reason: 'integrity sealing is off (integrity.seal: false): tampering with stored logs cannot be detected',
      data: { sealing: false } satisfies IntegritySectionData,
    };
  }
  const tenant = period.tenant || undefined;
  const verification = await verifyIntegrity(integrity.store, {
    verifierKey: integrity.verifierKey,
    tenant,
    fromNs: period.fromNs,
    toNs: period.toNs,
  });
  const heads = await sources.queries.chainHeads(period.tenant);
  const latest = new Map((await integrity.store.latestCheckpoints()).map((checkpoint) => [checkpoint.chain_id, checkpoint]));
  const chains = heads.map((head) => {
    const checkpoint = latest.get(head.chain_id);
    return {
      chain: head.chain_id,
      tenant: head.tenant,
      head_batch_seq: Number(head.head_seq),
      head_hash: head.head_hash,
      first_commit: head.first_commit,
      last_commit: head.last_commit,
      latest_checkpoint: checkpoint
        ? {
            tree_size: Number(checkpoint.tree_size),
            root_hash: checkpoint.root_hash,
            created_at: isoOfStored(checkpoint.created_at),
            signed_note: checkpoint.note,
          }
        : null,
    };
  });
  const unsigned = chains.filter((chain) => !chain.latest_checkpoint && Date.now() - parseStoredTime(chain.first_commit) > unsignedAfterMs);
  const data = {
    sealing: true,
    verifier_key: integrity.verifierKey,
    verification: {
      ...verification,
      findings: verification.findings.slice(0, maxFindingsShown),
      findings_total: verification.findings.length,
    },
    chains,
  };
  const evidence = { ...base, data: data satisfies IntegritySectionData };
  if (!verification.ok) {
    const kinds = [...new Set(verification.findings.map((finding) => finding.kind))].join(', ');
    return { ...evidence, status: 'fail', reason: `verification found ${verification.findings.length} problems (${kinds})` };
  }
  if (unsigned.length > 0) {
    return {
      ...evidence,
      status: 'attention',
      reason: `${unsigned.length} chains have no signed checkpoint: ${unsigned.map((chain) => chain.chain).join(', ')}`,
    };
  }
  return {
    ...evidence,
    status: 'pass',
    reason: `${verification.batches} batches with ${verification.records} records in ${verification.chains} chains verified, ${verification.checkpoints} signed checkpoints checked, nothing altered or missing`,
  };
}
