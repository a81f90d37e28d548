import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse as renderGoTemplate } from '@ctrl/golang-template';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/loadConfig.js';
import { tempDataDir } from '../support/meshlogProcess.js';

const chart = fileURLToPath(new URL('../../../deploy/helm/meshlog/', import.meta.url));

type Manifest = { apiVersion?: string; kind?: string; [key: string]: unknown };

function render(values: Record<string, unknown>): Manifest[] {
  const metadata = parseYaml(readFileSync(`${chart}Chart.yaml`, 'utf8')) as Record<string, unknown>;
  return readdirSync(`${chart}templates`)
    .filter((name) => name.endsWith('.yaml'))
    .flatMap((name) => {
      const text = renderGoTemplate(readFileSync(`${chart}templates/${name}`, 'utf8'), {
        Values: values,
        Release: { Name: 'meshlog', Namespace: 'observability' },
        Chart: metadata,
      });
      return parseAllDocuments(text).map((document) => document.toJS() as Manifest);
    });
}

/** Each object through the kubernetes-models class of its kind, whose validate() checks it against the Kubernetes OpenAPI schema. */
function validated(documents: Manifest[]): { statefulSet: StatefulSet; configMap: ConfigMap; services: Service[] } {
  let statefulSet: StatefulSet | undefined;
  let configMap: ConfigMap | undefined;
  const services: Service[] = [];
  for (const document of documents) {
    const key = `${document.apiVersion}/${document.kind}`;
    if (key === 'apps/v1/StatefulSet') (statefulSet = new StatefulSet(document as never)).validate();
    else if (key === 'v1/ConfigMap') (configMap = new ConfigMap(document as never)).validate();
    else if (key === 'v1/Service') services.push(new Service(document as never));
    else assert.fail(`unexpected object ${key}`);
  }
  for (const service of services) service.validate();
  assert.ok(statefulSet && configMap, 'a StatefulSet and its ConfigMap');
  return { statefulSet, configMap, services };
}

/** The node's meshlog.yaml read by meshlog's own config loader, with the environment the pod gives it. */
function nodeConfig(configMap: ConfigMap, env: NodeJS.ProcessEnv) {
  const file = join(tempDataDir('meshlog-chart-'), 'meshlog.yaml');
  writeFileSync(file, configMap.data!['meshlog.yaml']);
  return loadConfig({ file, env });
}

test('the server chart renders into objects that validate; each node is a cluster node named after its pod, with NATS from the values', () => {
  const defaults = parseYaml(readFileSync(`${chart}values.yaml`, 'utf8')) as Record<string, any>;
  const { statefulSet, configMap, services } = validated(render(defaults));
  assert.equal(statefulSet.metadata?.namespace, 'observability');
  assert.equal(statefulSet.spec!.replicas, 3);
  assert.deepEqual(services.map((service) => service.spec?.clusterIP ?? 'load-balanced').sort(), ['None', 'load-balanced']);
  const [container] = statefulSet.spec!.template.spec!.containers;
  const env = new Map((container.env ?? []).map((variable) => [variable.name, variable]));
  assert.equal(env.get('MESHLOG_CLUSTER_NODE_ID')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
  assert.equal(env.get('MESHLOG_CLUSTER_NATS_PASSWORD')?.valueFrom?.secretKeyRef?.name, 'meshlog-nats');
  assert.equal(env.get('MESHLOG_ADMIN_TOKEN')?.valueFrom?.secretKeyRef?.name, 'meshlog-admin');
  assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
  assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
  assert.ok(
    container.volumeMounts?.some((mount) => mount.mountPath === '/var/lib/meshlog'),
    'the data directory is a volume',
  );
  assert.equal(statefulSet.spec!.volumeClaimTemplates?.[0].spec?.storageClassName, undefined, 'the cluster default storage class');

  const config = nodeConfig(configMap, { MESHLOG_CLUSTER_NODE_ID: 'meshlog-1', MESHLOG_CLUSTER_NATS_PASSWORD: 'from-the-secret' });
  assert.equal(config.cluster.enabled, true);
  assert.equal(config.cluster.role, 'all');
  assert.equal(config.cluster.node_id, 'meshlog-1');
  assert.deepEqual(config.cluster.nats.servers, defaults.nats.servers);
  assert.equal(config.cluster.nats.user, 'meshlog');
  assert.equal(config.cluster.nats.password, 'from-the-secret');
  assert.equal(config.cluster.stream.replicas, 3);
  assert.equal(config.http_port, Number(container.ports?.[0].containerPort));
  // Off loopback only with TLS, from the mounted Secret.
  assert.equal(config.tls?.cert_file, '/etc/meshlog/tls/tls.crt');
  assert.equal(container.readinessProbe?.httpGet?.scheme, 'HTTPS');
  const tlsMount = container.volumeMounts?.find((mount) => mount.mountPath === '/etc/meshlog/tls');
  const tlsVolume = statefulSet.spec!.template.spec!.volumes?.find((volume) => volume.name === tlsMount?.name);
  assert.equal(tlsVolume?.secret?.secretName, 'meshlog-tls');
  assert.equal(config.forward.enabled, false);
  assert.equal(config.syslog.enabled, false);
});

test('the server chart with overrides: a gateway role, other NATS servers, a storage class and one stream replica', () => {
  const defaults = parseYaml(readFileSync(`${chart}values.yaml`, 'utf8')) as Record<string, any>;
  const { statefulSet, configMap } = validated(
    render({
      ...defaults,
      replicas: 2,
      role: 'gateway',
      streamReplicas: 1,
      nats: { ...defaults.nats, servers: ['nats://nats.example:4222'] },
      storage: { size: '10Gi', storageClassName: 'fast-ssd' },
    }),
  );
  assert.equal(statefulSet.spec!.replicas, 2);
  assert.equal(statefulSet.spec!.volumeClaimTemplates?.[0].spec?.storageClassName, 'fast-ssd');
  const config = nodeConfig(configMap, {});
  assert.equal(config.cluster.role, 'gateway');
  assert.deepEqual(config.cluster.nats.servers, ['nats://nats.example:4222']);
  assert.equal(config.cluster.stream.replicas, 1);
});
