import type { FastifyInstance } from 'fastify';
import type { DeletionLedgerCopyResponse } from '../api/deletionLedger.js';
import { MeshlogError } from '../errors.js';
import type { ReplicatedLedgers } from '../model/ledgerReplica.js';
import type { AuditTrail } from '../security/auditTrail.js';

/** A node id as the cluster config takes it: a wildcard (`*`, `>`) or a dot would read other nodes' keys. */
const nodeId = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Any node's replicated deletion ledger, for an operator whose node lost its
 * disk (`meshlog ledger fetch`): the lines as the bucket holds them, not
 * checked here (the reader checks the chain and signatures with keys it
 * trusts). Admin for every tenant: the ledger names every tenant's erasures.
 * Audited with the node and the number of lines.
 */
export function deletionLedgerRoutes(app: FastifyInstance, deps: { ledgers: ReplicatedLedgers | undefined; audit: AuditTrail }): void {
  app.get<{ Params: { node: string }; Reply: DeletionLedgerCopyResponse }>(
    '/api/v1/admin/cluster/deletion-ledgers/:node',
    { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } },
    async (request) => {
      const { node } = request.params;
      if (!nodeId.test(node))
        throw new MeshlogError('ML_DECODE', `not a node id: ${JSON.stringify(node.slice(0, 80))} (letters, digits, - and _)`);
      if (!deps.ledgers)
        throw new MeshlogError(
          'ML_NOT_FOUND',
          'not a cluster (cluster.enabled is false): the deletion ledger is only the file beside the data dir',
        );
      const copy = await deps.ledgers(node);
      await deps.audit.record({
        action: 'deletion_ledger.fetch',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        target: node,
        detail: { lines: copy.lines.length, missing: copy.missing.length, deleted: copy.deleted.length },
      });
      return copy;
    },
  );
}
