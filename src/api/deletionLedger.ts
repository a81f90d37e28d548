/** `/api/v1/admin/cluster/deletion-ledgers/:node`: a node's deletion ledger as the cluster's bucket holds it, unchecked (the reader checks it). */
export type { ReplicatedLedgerCopy as DeletionLedgerCopyResponse } from '../model/ledgerReplica.js';
