import type { MeshlogConfig } from '../config/schema.js';
import type { IngestContext } from './ingestContext.js';
import type { Listener } from './listener.js';
import { forwardListener } from './listeners/forwardListener.js';
import { syslogListeners } from './listeners/syslogListener.js';

/** Every non-HTTP listener the configuration enables. */
export function buildListeners(config: MeshlogConfig, ingest: IngestContext): Listener[] {
  const listeners: Listener[] = [];
  if (config.forward.enabled) listeners.push(forwardListener(config.forward, config.forward.host ?? config.host, ingest));
  if (config.syslog.enabled) listeners.push(...syslogListeners(config.syslog, config.syslog.host ?? config.host, ingest));
  return listeners;
}
