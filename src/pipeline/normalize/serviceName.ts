/**
 * Resource keys that name a service on Kubernetes, first match wins (OTel's
 * service.name resolution order): the annotation, the recommended labels,
 * then the owning workload, the pod and the container, then Loki-style
 * stream labels. Labels and
 * annotations appear under the collector's `k8s.pod.labels.<key>` spelling
 * and semconv's `k8s.pod.label.<key>`.
 */
const serviceNameKeys = [
  'service.name',
  'k8s.pod.annotations.resource.opentelemetry.io/service.name',
  'k8s.pod.annotation.resource.opentelemetry.io/service.name',
  'k8s.pod.labels.app.kubernetes.io/instance',
  'k8s.pod.label.app.kubernetes.io/instance',
  'k8s.pod.labels.app.kubernetes.io/name',
  'k8s.pod.label.app.kubernetes.io/name',
  'k8s.deployment.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
  'k8s.pod.name',
  'k8s.container.name',
  // Loki stream labels (Promtail, Alloy), in the order Loki's own service_name discovery tries them.
  'service',
  'app',
  'application',
  'app_name',
  'name',
  'app_kubernetes_io_name',
  'container',
  'container_name',
  'k8s_container_name',
  'component',
  'workload',
  'job',
];

/** SDKs report `unknown_service` or `unknown_service:<process>` when no name was configured. */
export function isUnknownServiceName(name: string): boolean {
  return name.length === 0 || name.startsWith('unknown_service');
}

/**
 * The record's service: OTel resource service.name, then Kubernetes
 * metadata, then the workload a mesh access log was written for; '' if none.
 */
export function resolveServiceName(resource: Record<string, string>, meshWorkload: string): string {
  for (const key of serviceNameKeys) {
    const value = resource[key];
    if (value !== undefined && !isUnknownServiceName(value)) return value;
  }
  return meshWorkload;
}

/** What Loki stores as service_name when nothing names the service: every record stays reachable by a selector. */
export const unknownServiceName = 'unknown_service';

/** Log attributes that name the service, in order: ECS and Datadog spellings, then Kubernetes metadata as Filebeat and the collector put it on a log. */
const attributeServiceKeys = [
  'service.name',
  'service',
  // Filebeat (ECS) and Fluent Bit's kubernetes filter.
  'kubernetes.labels.app_kubernetes_io/name',
  'kubernetes.labels.app.kubernetes.io/name',
  'kubernetes.labels.app',
  'kubernetes.deployment.name',
  'kubernetes.statefulset.name',
  'kubernetes.daemonset.name',
  'kubernetes.container.name',
  'kubernetes.container_name',
  'kubernetes.pod.name',
  'kubernetes.pod_name',
  'k8s.deployment.name',
  'k8s.container.name',
  'k8s.pod.name',
];

/** An index named by date (`logs-2026.11.25`, `pino-2026-11-25`) or rollover (`app-000001`) names its service without the suffix. */
function indexService(index: string): string {
  return index.replace(/[-_.]?(?:\d{4}[-.]\d{2}[-.]\d{2}|\d{6})$/, '');
}

/**
 * A service for a record whose sender named none: from what the shipper did
 * send (Kubernetes metadata, the syslog APP-NAME or TAG, the Fluentd tag, the
 * Elasticsearch index), else `unknown_service` as Loki does; an SDK's own
 * `unknown_service:<process>` is kept.
 */
export function fallbackServiceName(serviceName: string, resource: Record<string, string>, attributes: Record<string, string>): string {
  if (!isUnknownServiceName(serviceName)) return serviceName;
  const fromResource = resolveServiceName(resource, '');
  if (fromResource !== '') return fromResource;
  for (const key of attributeServiceKeys) {
    const value = attributes[key];
    if (value !== undefined && !isUnknownServiceName(value)) return value;
  }
  const shipper = attributes['syslog.appname'] || attributes['fluent.tag'] || indexService(attributes['elasticsearch.index'] ?? '');
  if (shipper) return shipper;
  return serviceName === '' ? unknownServiceName : serviceName;
}
