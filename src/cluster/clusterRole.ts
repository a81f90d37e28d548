import type { ClusterConfig } from './clusterConfig.js';

/** Whether this node commits the record stream into its own storage (every role but gateway). */
export function consumesStream(cluster: ClusterConfig): boolean {
  return cluster.role !== 'gateway';
}

/** The config a node runs with: a writer opens none of the receivers' own listeners. */
export function withRole<
  T extends { cluster: ClusterConfig; forward: { enabled: boolean }; syslog: { enabled: boolean }; otlp_grpc: { enabled: boolean } },
>(config: T): T {
  if (config.cluster.role !== 'writer') return config;
  return {
    ...config,
    forward: { ...config.forward, enabled: false },
    syslog: { ...config.syslog, enabled: false },
    otlp_grpc: { ...config.otlp_grpc, enabled: false },
  };
}
