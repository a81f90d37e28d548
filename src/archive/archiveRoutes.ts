import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportArchive, type ArchiveRequest, type ArchiveSources } from './archiveExport.js';
import { manifestFile, payloadFile, signatureFile } from './archiveManifest.js';
import { uploadArchive, type S3Settings } from './s3Upload.js';
import { KeyShreddedError } from './keyRing.js';
import { MeshlogError } from '../errors.js';
import type { AuditTrail } from '../security/auditTrail.js';
import { tenantFor } from '../security/identity.js';
import { parseJsonBody } from '../formats/jsonBody.js';
import { rfc3339Ns } from '../formats/rfc3339Time.js';

export interface ArchiveDeps {
  sources: ArchiveSources;
  audit: AuditTrail;
  /** Object storage for uploads; absent when archive.s3 is not configured. */
  s3?: S3Settings;
  /** How long the tenant's records may be kept at most: an uploaded archive is locked until its end plus this. */
  longestRetentionSeconds: (tenant: string) => number;
}

const exportBody = z
  .object({
    tenant: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a tenant name'),
    from: z.string().datetime({ offset: true }),
    to: z.string().datetime({ offset: true }),
  })
  .strict();

const shredBody = z
  .object({
    tenant: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'a tenant name'),
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a UTC month, YYYY-MM'),
    reason: z.string().min(1).max(2000),
  })
  .strict();

/** Export and upload: by an administrator of the tenant named in the body; each writes its own audit record. */
const archiveAccess = { config: { permission: 'admin', tenancy: 'named', auditedByRoute: true } } as const;

/** What an export or upload asks for: a tenant the credential holds, and `from` not after `to`. */
function archiveRequest(request: FastifyRequest): ArchiveRequest {
  const body = parseJsonBody(exportBody, request.body);
  const tenant = tenantFor(request.identity!, body.tenant);
  const fromNs = rfc3339Ns(body.from);
  const toNs = rfc3339Ns(body.to);
  if (fromNs > toNs) throw new MeshlogError('ML_DECODE', 'from is after to');
  return { tenant, fromNs, toNs, actor: request.identity!.name };
}

/** Encrypted, signed archive export (admin) and crypto-shredding of archive data keys; each audited. */
export function archiveRoutes(app: FastifyInstance, deps: ArchiveDeps): void {
  const { sources, audit } = deps;

  /** NDJSON: `payload` lines (base64 ciphertext, in order), then one `manifest` line with the signed manifest; `error` if it fails midway. */
  app.post('/api/v1/admin/archives/export', archiveAccess, async (request, reply) => {
    const asked = archiveRequest(request);
    const { tenant, fromNs } = asked;
    const period = new Date(Number(fromNs / 1_000_000n)).toISOString().slice(0, 7);
    const entry = await sources.keyRing.entry(tenant, period);
    if (entry?.shredded) throw new MeshlogError('ML_CONFLICT', new KeyShreddedError(entry).message);
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const line = (value: object) =>
      new Promise<void>((resolve) =>
        reply.raw.write(`${JSON.stringify(value)}\n`) ? resolve() : reply.raw.once('drain', () => resolve()),
      );
    try {
      const { manifest, manifestText, signature } = await exportArchive(sources, asked, (chunk) =>
        line({ type: 'payload', data: chunk.toString('base64') }),
      );
      await audit.record({
        action: 'archive.export',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant,
        target: manifest.archive_id,
        detail: {
          from: manifest.from,
          to: manifest.to,
          key_id: manifest.encryption.key_id,
          sha256: manifest.payload.sha256,
          records: manifest.payload.records,
          chains: manifest.chains.length,
        },
      });
      await line({ type: 'manifest', manifest: manifestText, signature });
    } catch (error) {
      await audit.record({
        action: 'archive.export',
        outcome: 'failure',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant,
        detail: { reason: (error as Error).message },
      });
      await line({ type: 'error', error: (error as Error).message });
    }
    reply.raw.end();
    return reply;
  });

  /** Exports server-side, uploads payload, manifest and signature with Object Lock, reads them back; audited either way. */
  app.post('/api/v1/admin/archives/upload', archiveAccess, async (request, reply) => {
    const asked = archiveRequest(request);
    const { tenant } = asked;
    const s3 = deps.s3;
    if (!s3) throw new MeshlogError('ML_CONFLICT', 'no object storage configured (archive.s3)');
    const staging = mkdtempSync(join(tmpdir(), 'meshlog-archive-'));
    try {
      const payload = createWriteStream(join(staging, payloadFile), { mode: 0o600 });
      const { manifest, manifestText, signature } = await exportArchive(sources, asked, (chunk) =>
        payload.write(chunk) ? Promise.resolve() : new Promise<void>((resolve) => payload.once('drain', () => resolve())),
      );
      await new Promise<void>((resolve, reject) => payload.end((error?: Error | null) => (error ? reject(error) : resolve())));
      writeFileSync(join(staging, manifestFile), manifestText);
      writeFileSync(join(staging, signatureFile), signature);
      const retainUntil = new Date(Date.parse(manifest.to) + deps.longestRetentionSeconds(tenant) * 1000);
      const uploaded = await uploadArchive(s3, staging, { tenant, archiveId: manifest.archive_id }, retainUntil);
      await audit.record({
        action: 'archive.upload',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant,
        target: manifest.archive_id,
        detail: {
          bucket: uploaded.bucket,
          keys: uploaded.keys,
          mode: uploaded.mode,
          retain_until: uploaded.retain_until,
          lock_reported: uploaded.lock_reported,
          sha256: manifest.payload.sha256,
          records: manifest.payload.records,
        },
      });
      return reply.code(201).send({ archive_id: manifest.archive_id, records: manifest.payload.records, upload: uploaded });
    } catch (error) {
      await audit.record({
        action: 'archive.upload',
        outcome: 'failure',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant,
        detail: { bucket: s3.bucket, reason: (error as Error).message },
      });
      throw error instanceof MeshlogError
        ? error
        : new MeshlogError('ML_UNAVAILABLE', `archive upload failed: ${(error as Error).message}`, { cause: error });
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });

  // Which keys exist and which were shredded, by whom and why, is evidence an auditor reads.
  app.get('/api/v1/admin/archive-keys', { config: { permission: 'audit', tenancy: 'all' } }, async () => ({
    keys: (await sources.keyRing.list()).map(({ wrapped: _wrapped, ...entry }) => entry),
  }));

  app.post(
    '/api/v1/admin/archive-keys/shred',
    { config: { permission: 'admin', tenancy: 'all', auditedByRoute: true } },
    async (request) => {
      const body = parseJsonBody(shredBody, request.body);
      const tenant = tenantFor(request.identity!, body.tenant);
      const existing = await sources.keyRing.entry(tenant, body.period);
      if (!existing) throw new MeshlogError('ML_NOT_FOUND', `no archive data key ${tenant}/${body.period}`);
      if (existing.shredded) throw new MeshlogError('ML_CONFLICT', new KeyShreddedError(existing).message);
      const tombstone = await sources.keyRing.shred(tenant, body.period, request.identity!.name, body.reason);
      await audit.record({
        action: 'archive.key_shred',
        outcome: 'success',
        actor: request.identity,
        remoteAddress: request.ip,
        tenant,
        target: tombstone.key_id,
        detail: {
          key_id: tombstone.key_id,
          period: tombstone.period,
          reason: body.reason,
          at: tombstone.shredded!.at,
          created_at: tombstone.created_at,
        },
      });
      const { wrapped: _wrapped, ...view } = tombstone;
      return { key: view };
    },
  );
}
