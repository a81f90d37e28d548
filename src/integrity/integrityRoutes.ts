import type { FastifyInstance } from 'fastify';
import { MeshlogError } from '../errors.js';
import { consistencyProof, inclusionProof, treeRoot } from './merkle.js';
import { ProofTrees } from './proofTrees.js';
import { verifyIntegrity } from './verifier.js';
import type { SigningKeySet } from './signingKeySet.js';
import { parseLokiTime } from '../query/lokiParams.js';
import type { SealStore } from '../storage/logs/sealStore.js';
import { holdsTenants } from '../security/grants.js';
import { anyTenant, tenantFor, type Identity } from '../security/identity.js';

export interface IntegrityDeps {
  store: SealStore;
  /** This node's verifier key (C2SP), and in a cluster every node's published key. */
  keys: SigningKeySet;
}

const hex = (buffers: Buffer[]) => buffers.map((buffer) => buffer.toString('hex'));

function positiveInteger(value: string | undefined, name: string): number {
  const number = Number(value);
  if (!value || !Number.isSafeInteger(number) || number < 1) throw new MeshlogError('ML_DECODE', `${name} must be a positive integer`);
  return number;
}

/** A chain is one tenant's (`<tenant>/<writer id>`): its checkpoints and proofs are for that tenant's readers. */
function chainTenant(chain: string): string {
  const slash = chain.indexOf('/');
  return slash < 0 ? chain : chain.slice(0, slash);
}

/** The chain, if its tenant is the identity's (a credential of every tenant may also prove the audit trail's). */
function requireChain(identity: Identity, chain: string): string {
  if (chain === '') throw new MeshlogError('ML_DECODE', 'chain is required (GET /api/v1/integrity/checkpoints lists them)');
  if (!identity.tenants.includes(anyTenant)) tenantFor(identity, chainTenant(chain));
  return chain;
}

/**
 * The integrity API: verification (streamed NDJSON with progress), signed
 * checkpoints, the verifier key, and Merkle inclusion / consistency proofs
 * an outside party can check against checkpoints it kept.
 */
export function integrityRoutes(app: FastifyInstance, deps: IntegrityDeps): void {
  const { store } = deps;
  const trees = new ProofTrees(store);

  app.get('/api/v1/integrity/public-key', { config: { permission: 'audit', tenancy: 'none' } }, async () => ({
    verifierKey: deps.keys.own.verifierKey,
  }));

  // The published key set: one key a line is what `meshlog verify --public-key FILE` takes.
  app.get('/api/v1/integrity/public-keys', { config: { permission: 'audit', tenancy: 'none' } }, async () => ({ keys: deps.keys.list() }));

  app.get<{ Querystring: { chain?: string } }>(
    '/api/v1/integrity/checkpoints',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request) => ({
      checkpoints: (await store.checkpoints(request.query.chain ? [requireChain(request.identity!, request.query.chain)] : undefined))
        .filter((checkpoint) => holdsTenants(request.identity!, [chainTenant(checkpoint.chain_id)]))
        .map((checkpoint) => ({
          chain: checkpoint.chain_id,
          treeSize: Number(checkpoint.tree_size),
          rootHash: checkpoint.root_hash,
          note: checkpoint.note,
          createdAt: checkpoint.created_at,
        })),
    }),
  );

  app.get<{ Querystring: { chain?: string; batch_seq?: string; tree_size?: string } }>(
    '/api/v1/integrity/proofs/inclusion',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request) => {
      const chain = requireChain(request.identity!, request.query.chain ?? '');
      const seq = positiveInteger(request.query.batch_seq, 'batch_seq');
      const { leaves: all, cache } = await trees.tree(chain);
      const size = request.query.tree_size ? positiveInteger(request.query.tree_size, 'tree_size') : all.length;
      if (seq > size || size > all.length)
        throw new MeshlogError('ML_DECODE', `batch ${seq} is not in a tree of ${size} (chain has ${all.length} batches)`);
      return {
        chain,
        batchSeq: seq,
        leafIndex: seq - 1,
        treeSize: size,
        leafHash: all[seq - 1].toString('hex'),
        rootHash: treeRoot(all, size, cache).toString('hex'),
        proof: hex(inclusionProof(all, seq - 1, size, cache)),
      };
    },
  );

  app.get<{ Querystring: { chain?: string; from_size?: string; to_size?: string } }>(
    '/api/v1/integrity/proofs/consistency',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request) => {
      const chain = requireChain(request.identity!, request.query.chain ?? '');
      const from = positiveInteger(request.query.from_size, 'from_size');
      const { leaves: all, cache } = await trees.tree(chain);
      const to = request.query.to_size ? positiveInteger(request.query.to_size, 'to_size') : all.length;
      if (from > to || to > all.length)
        throw new MeshlogError('ML_DECODE', `no consistency proof from ${from} to ${to} (chain has ${all.length} batches)`);
      return {
        chain,
        fromSize: from,
        toSize: to,
        fromRoot: treeRoot(all, from, cache).toString('hex'),
        toRoot: treeRoot(all, to, cache).toString('hex'),
        proof: hex(consistencyProof(all, from, to, cache)),
      };
    },
  );

  /** NDJSON: progress and finding lines as verification goes, then one summary line. */
  app.get<{ Querystring: { tenant?: string; from?: string; to?: string } }>(
    '/api/v1/integrity/verify',
    { config: { permission: 'audit', tenancy: 'named' } },
    async (request, reply) => {
      const fromNs = request.query.from ? parseLokiTime(request.query.from, 0n, 'from') : undefined;
      const toNs = request.query.to ? parseLokiTime(request.query.to, 0n, 'to') : undefined;
      // Every tenant only for a credential of every tenant; otherwise the one asked for (it must be held) or the request's.
      const identity = request.identity!;
      const tenant =
        request.query.tenant !== undefined
          ? tenantFor(identity, request.query.tenant)
          : identity.tenants.includes(anyTenant)
            ? undefined
            : request.tenant;
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const line = (value: object) => reply.raw.write(`${JSON.stringify(value)}\n`);
      try {
        const report = await verifyIntegrity(
          store,
          { verifierKey: deps.keys.own.verifierKey, alsoAccepted: deps.keys.others(), tenant, fromNs, toNs },
          (progress) => line({ type: 'progress', ...progress }),
          (finding) => line({ type: 'finding', ...finding }),
        );
        line({ type: 'summary', ...report, findings: report.findings.length });
      } catch (error) {
        line({ type: 'error', error: (error as Error).message });
      }
      reply.raw.end();
      return reply;
    },
  );
}
