import type { LogRecord } from '../model/logRecord.js';

/**
 * Which output stream a record came from (one container's stdout, one file):
 * only consecutive records of the same stream are joined into one.
 */
export function streamKey(record: LogRecord): string {
  const { resource, attributes } = record;
  return `${record.tenant}\u0000${record.receiver}\u0000${record.serviceName}\u0000${resource['log.file.path'] ?? attributes['log.file.path'] ?? ''}\u0000${
    resource['k8s.pod.uid'] ?? resource['k8s.pod.name'] ?? ''
  }\u0000${resource['k8s.container.name'] ?? ''}\u0000${attributes['log.iostream'] ?? ''}`;
}
