import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { MeshlogConfig } from '../config/schema.js';
import { sealJournalDir, SealJournal } from '../storage/logs/sealJournal.js';
import { SealStore } from '../storage/logs/sealStore.js';
import { hashBatchContent } from './batchSeal.js';
import type { Storage } from '../storage/engine/storage.js';
import { ChainSealer } from './chainSealer.js';
import { loadOrCreateSigner, type NoteSigner } from './signedNote.js';

/** Default key path: beside the data directory, never inside it. */
export function signingKeyPath(config: MeshlogConfig): string {
  return config.integrity.signing_key_file ?? `${resolve(config.data_dir)}-signing.key`;
}

/**
 * Loads (or creates) the signing key of checkpoints and reports, and
 * publishes its verifier key beside it (`<key>.pub`) for auditors.
 */
export function openSigner(config: MeshlogConfig, writerId: string, logger: Logger): NoteSigner {
  const keyPath = signingKeyPath(config);
  const { signer, created } = loadOrCreateSigner(keyPath, `meshlog-${writerId}`);
  if (created || !existsSync(`${keyPath}.pub`)) writeFileSync(`${keyPath}.pub`, `${signer.verifierKey}\n`);
  logger.info({ key: keyPath, verifierKey: signer.verifierKey, created }, 'signing key loaded');
  return signer;
}

/** Opens sealing with the signing key (see openSigner) and resumes this writer's chains. */
export async function openSealing(
  config: MeshlogConfig,
  storage: Storage,
  writerId: string,
  logger: Logger,
): Promise<{ sealer: ChainSealer; store: SealStore; signer: NoteSigner }> {
  const signer = openSigner(config, writerId, logger);
  const store = new SealStore(storage, {
    journal: new SealJournal(sealJournalDir(config.data_dir)),
    hashContent: hashBatchContent,
    intervalMs: config.integrity.seal_flush_ms,
    logger,
  });
  const sealer = await ChainSealer.open(store, signer, writerId, logger);
  return { sealer, store, signer };
}
