/**
 * What an Envoy upstream cluster name says about the mesh that configured the
 * proxy and the way a request went. The names are each control plane's own:
 * - Istio: `outbound|8000||httpbin.foo.svc.cluster.local`, `inbound|8080||`,
 *   `PassthroughCluster`, `BlackHoleCluster`, `InboundPassthroughCluster…`;
 * - Consul (agent/xds testdata): `db.default.dc1.internal.<trust domain>.consul`
 *   outbound, `local_app` for the proxied service itself;
 * - AWS App Mesh (aws-app-mesh-examples walkthroughs):
 *   `cds_egress_<mesh>_<virtual node>_<protocol>_<port>`,
 *   `cds_egress_<mesh>_mesh-allow-all`, `cds_ingress_<mesh>_<virtual node>_…`.
 */

/** The mesh a cluster name belongs to, or undefined when it is not one of theirs. */
export function meshOfCluster(cluster: string): string | undefined {
  if (cluster.includes('|') || cluster.endsWith('PassthroughCluster') || cluster === 'BlackHoleCluster') return 'istio';
  if (cluster.endsWith('.consul') || cluster === 'local_app') return 'consul';
  if (cluster.startsWith('cds_egress_') || cluster.startsWith('cds_ingress_')) return 'appmesh';
  return undefined;
}

/** `httpbin.foo.svc.cluster.local` → `httpbin.foo`; `backend.default.dc1.internal.….consul` → `backend.default`. */
function serviceOfHost(host: string): string {
  const first = host.indexOf('.');
  if (first < 0) return host;
  const second = host.indexOf('.', first + 1);
  return second < 0 ? host : host.slice(0, second);
}

/** `cds_egress_<mesh>_<virtual node>_http_9080` → the virtual node; '' for the mesh-wide allow-all cluster. */
function virtualNodeOfCluster(rest: string): string {
  if (rest.endsWith('_mesh-allow-all')) return '';
  // Mesh names cannot be told from node names when either holds `_`: the first `_` ends the mesh.
  const afterMesh = rest.slice(rest.indexOf('_') + 1);
  const port = /_(?:http2?|grpc|tcp)_\d+$/.exec(afterMesh);
  return port ? afterMesh.slice(0, port.index) : afterMesh;
}

/**
 * Which way a request went: an outbound cluster means the logging proxy's
 * workload called `peer`; an inbound one means it was called.
 */
export function directionOfCluster(cluster: string): { outbound: boolean; peer: string } | undefined {
  if (cluster.startsWith('outbound|')) return { outbound: true, peer: serviceOfHost(cluster.slice(cluster.lastIndexOf('|') + 1)) };
  if (cluster.startsWith('inbound|') || cluster === 'local_app' || cluster.startsWith('cds_ingress_')) return { outbound: false, peer: '' };
  if (cluster.endsWith('.consul')) return { outbound: true, peer: serviceOfHost(cluster) };
  if (cluster.startsWith('cds_egress_')) return { outbound: true, peer: virtualNodeOfCluster(cluster.slice('cds_egress_'.length)) };
  return undefined;
}
