/** What a kubelet log path says about the container that wrote it (OTel k8s.* / container.* names). */
export type KubernetesLogSource = Record<string, string>;

/**
 * `/var/log/pods/<namespace>_<pod>_<pod-uid>/<container>/<restart>.log` or the
 * symlink `/var/log/containers/<pod>_<namespace>_<container>-<container-id>.log`.
 * Names cannot contain `_` (DNS labels), so `_` splits them safely.
 */
export function parseKubernetesLogPath(path: string): KubernetesLogSource | undefined {
  const pods = path.indexOf('/var/log/pods/');
  if (pods >= 0) return parsePodLogPath(path.slice(pods + 14));
  const containers = path.indexOf('/var/log/containers/');
  if (containers >= 0) {
    const match = /^([^_/]+)_([^_/]+)_(.+)-([0-9a-f]{64})\.log$/.exec(path.slice(containers + 20));
    if (!match) return undefined;
    return {
      'k8s.pod.name': match[1],
      'k8s.namespace.name': match[2],
      'k8s.container.name': match[3],
      'container.id': match[4],
    };
  }
  return undefined;
}

/** `<namespace>_<pod>_<pod-uid>/<container>/<restart>.log`, relative to the kubelet's pods directory wherever it is mounted. */
export function parsePodLogPath(relative: string): KubernetesLogSource | undefined {
  const parts = relative.split('/');
  if (parts.length !== 3) return undefined;
  const [namespace, pod, uid] = parts[0].split('_');
  if (!namespace || !pod || !uid) return undefined;
  const restart = /^(\d+)\.log(\..*)?$/.exec(parts[2]);
  const source: KubernetesLogSource = {
    'k8s.namespace.name': namespace,
    'k8s.pod.name': pod,
    'k8s.pod.uid': uid,
    'k8s.container.name': parts[1],
  };
  if (restart) source['k8s.container.restart_count'] = restart[1];
  return source;
}
