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
