import type { MeshlogConfig } from '../config/schema.js';
import type { IngestContext } from './ingestContext.js';
import type { Listener } from './listener.js';

/** Every non-HTTP listener the configuration enables. */
export function buildListeners(_config: MeshlogConfig, _ingest: IngestContext): Listener[] {
  return [];
}
