import type { MeshlogConfig } from '../config/schema.js';
import type { Authenticate } from '../security/authenticator.js';
import type { IngestContext } from './ingestContext.js';
import type { Listener } from './listener.js';
import { forwardListener } from './sources/fluent/forwardListener.js';
import { OtlpGrpcListener } from './sources/otlp/otlpGrpcListener.js';
import { syslogListeners } from './sources/syslog/syslogListener.js';

/**
 * Every non-HTTP listener the configuration enables. `authenticate` checks a
 * presented token for protocols that carry one.
 */
export function buildListeners(config: MeshlogConfig, ingest: IngestContext, authenticate: Authenticate): Listener[] {
  const listeners: Listener[] = [];
  if (config.forward.enabled) listeners.push(forwardListener(config.forward, config.forward.host ?? config.host, ingest));
  if (config.syslog.enabled) listeners.push(...syslogListeners(config.syslog, config.syslog.host ?? config.host, ingest));
  if (config.otlp_grpc.enabled)
    listeners.push(new OtlpGrpcListener(config.otlp_grpc, config.otlp_grpc.host ?? config.host, ingest, authenticate));
  return listeners;
}
