import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse as renderGoTemplate } from '@ctrl/golang-template';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { agentConfigSchema } from '../../src/agent/agentConfig.js';

const deploy = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const chart = `${deploy}helm/meshlog-agent/`;

type Manifest = { apiVersion?: string; kind?: string; [key: string]: unknown };

/** Each object through the kubernetes-models class of its kind, whose validate() checks it against the Kubernetes OpenAPI schema. */
function validated(documents: Manifest[]): { daemonSet: DaemonSet; configMap: ConfigMap } {
  let daemonSet: DaemonSet | undefined;
  let configMap: ConfigMap | undefined;
  for (const document of documents) {
    const key = `${document.apiVersion}/${document.kind}`;
    if (key === 'apps/v1/DaemonSet') (daemonSet = new DaemonSet(document as never)).validate();
    else if (key === 'v1/ConfigMap') (configMap = new ConfigMap(document as never)).validate();
    else if (key === 'v1/ServiceAccount') new ServiceAccount(document as never).validate();
    else assert.fail(`unexpected object ${key}`);
  }
  assert.ok(daemonSet && configMap, 'a DaemonSet and its ConfigMap');
  return { daemonSet, configMap };
}

/** What the issue asks of the DaemonSet: log hostPaths, read-only root, node name from the downward API, resource limits; its agent.yaml is a valid agent config. */
function assertNodeAgent(daemonSet: DaemonSet, configMap: ConfigMap): void {
  const pod = daemonSet.spec!.template.spec!;
  const hostPaths = (pod.volumes ?? []).map((volume) => volume.hostPath?.path);
  assert.ok(hostPaths.includes('/var/log/pods') && hostPaths.includes('/var/log/containers'));
  const [agent] = pod.containers;
  assert.equal(agent.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(agent.securityContext?.allowPrivilegeEscalation, false);
  assert.equal(agent.env?.find((variable) => variable.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  assert.ok(agent.resources?.limits?.memory && agent.resources.limits.cpu, 'resource limits');
  const mounts = new Map((agent.volumeMounts ?? []).map((mount) => [mount.mountPath, mount]));
  assert.equal(mounts.get('/var/log/pods')?.readOnly, true);
  const config = agentConfigSchema.parse(parseYaml(configMap.data!['agent.yaml']));
  assert.equal(config.kubernetes.enabled, true);
  assert.ok(mounts.has(config.data_dir), 'the disk buffer is on a mounted (writable) volume');
}

test('the static DaemonSet manifest validates against the Kubernetes schemas and runs the agent as a node agent', () => {
  const documents = parseAllDocuments(readFileSync(`${deploy}kubernetes/meshlog-agent-daemonset.yaml`, 'utf8')).map(
    (document) => document.toJS() as Manifest,
  );
  const { daemonSet, configMap } = validated(documents);
  assertNodeAgent(daemonSet, configMap);
});

test('the Helm chart renders, with its defaults and with overrides, into objects that validate', () => {
  const metadata = parseYaml(readFileSync(`${chart}Chart.yaml`, 'utf8')) as { apiVersion: string; name: string; version: string };
  assert.equal(metadata.apiVersion, 'v2');
  assert.match(metadata.version, /^\d+\.\d+\.\d+$/);
  const defaults = parseYaml(readFileSync(`${chart}values.yaml`, 'utf8')) as Record<string, unknown>;
  const render = (values: Record<string, unknown>): Manifest[] =>
    readdirSync(`${chart}templates`)
      .filter((name) => name.endsWith('.yaml'))
      .flatMap((name) => {
        const text = renderGoTemplate(readFileSync(`${chart}templates/${name}`, 'utf8'), {
          Values: values,
          Release: { Name: 'meshlog-agent', Namespace: 'observability' },
          Chart: metadata,
        });
        return parseAllDocuments(text).map((document) => document.toJS() as Manifest);
      });

  const { daemonSet, configMap } = validated(render(defaults));
  assertNodeAgent(daemonSet, configMap);
  assert.equal(daemonSet.metadata?.namespace, 'observability');
  assert.deepEqual(daemonSet.spec!.template.spec!.tolerations, [{ operator: 'Exists' }]);

  const overridden = validated(
    render({
      ...defaults,
      tolerateAllTaints: false,
      stateDir: '/data/agent',
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
    }),
  );
  assert.equal(overridden.daemonSet.spec!.template.spec!.tolerations, undefined);
  assert.equal(overridden.daemonSet.spec!.template.spec!.containers[0].resources?.limits?.memory, '128Mi');
  assertNodeAgent(overridden.daemonSet, overridden.configMap);
});

test('the validation catches a broken manifest', () => {
  const documents = parseAllDocuments(readFileSync(`${deploy}kubernetes/meshlog-agent-daemonset.yaml`, 'utf8')).map(
    (document) => document.toJS() as Manifest,
  );
  const daemonSet = documents.find((document) => document.kind === 'DaemonSet') as {
    spec: { template: { spec: { containers: Record<string, unknown>[] } } };
  };
  daemonSet.spec.template.spec.containers[0].ports = [{ name: 'metrics', containerPort: 'not-a-port' }];
  assert.throws(() => validated(documents as Manifest[]), /containerPort/);
});

test('the systemd unit passes systemd-analyze verify', () => {
  const result = spawnSync('systemd-analyze', ['verify', `${deploy}systemd/meshlog-agent.service`], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
});
