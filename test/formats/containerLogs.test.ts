import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinCriPartials, parseCriLine } from '../../src/formats/criLine.js';
import { parseDockerJsonLine } from '../../src/formats/dockerJsonFile.js';
import { parseKubernetesLogPath } from '../../src/formats/kubernetesLogPath.js';

test('CRI lines: stream, partial tag, content with spaces kept as is', () => {
  assert.deepEqual(parseCriLine('2016-10-06T00:17:09.669794202Z stdout P log content 1'), {
    time: '2016-10-06T00:17:09.669794202Z',
    stream: 'stdout',
    partial: true,
    content: 'log content 1',
  });
  assert.deepEqual(parseCriLine('2016-10-06T00:17:10.113242941Z stderr F  two  spaces\n'), {
    time: '2016-10-06T00:17:10.113242941Z',
    stream: 'stderr',
    partial: false,
    content: ' two  spaces',
  });
  assert.deepEqual(parseCriLine('2016-10-06T00:17:10.113242941Z stdout F'), {
    time: '2016-10-06T00:17:10.113242941Z',
    stream: 'stdout',
    partial: false,
    content: '',
  });
  assert.equal(parseCriLine('2016-10-06T00:17:10.113242941Z stdweird F x'), undefined);
  assert.equal(parseCriLine('2016-10-06 is a date but not a CRI line'), undefined);
});

test('CRI partial lines are joined per stream, interleaved stdout/stderr, and an unfinished one is kept', () => {
  const lines = [
    '2024-01-01T00:00:00.000000001Z stdout P {"msg":"a very',
    '2024-01-01T00:00:00.000000002Z stderr F warning: disk 91% full',
    '2024-01-01T00:00:00.000000003Z stdout P  long line split',
    '2024-01-01T00:00:00.000000004Z stdout F  by containerd"}',
    '2024-01-01T00:00:00.000000005Z stderr P unfinished',
  ].map((line) => parseCriLine(line)!);
  assert.deepEqual(joinCriPartials(lines), [
    { time: '2024-01-01T00:00:00.000000002Z', stream: 'stderr', partial: false, content: 'warning: disk 91% full' },
    { time: '2024-01-01T00:00:00.000000001Z', stream: 'stdout', partial: false, content: '{"msg":"a very long line split by containerd"}' },
    { time: '2024-01-01T00:00:00.000000005Z', stream: 'stderr', partial: true, content: 'unfinished' },
  ]);
});

test('Docker json-file lines: a log without its newline is a partial chunk', () => {
  assert.deepEqual(parseDockerJsonLine({ log: 'content 1\n', stream: 'stdout', time: '2016-10-20T18:39:20.57606443Z' }), {
    time: '2016-10-20T18:39:20.57606443Z',
    stream: 'stdout',
    partial: false,
    content: 'content 1',
  });
  assert.equal(parseDockerJsonLine({ log: 'first 16k', stream: 'stderr', time: '2016-10-20T18:39:20.57606443Z' })?.partial, true);
  assert.equal(parseDockerJsonLine({ msg: 'not docker' }), undefined);
});

test('Kubernetes metadata from /var/log/pods and /var/log/containers paths', () => {
  assert.deepEqual(
    parseKubernetesLogPath('/var/log/pods/shop_checkout-7d9f8b6c5-x2x4z_3f2c1b0a-9e8d-4c7b-a6f5-e4d3c2b1a098/istio-proxy/2.log'),
    {
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'checkout-7d9f8b6c5-x2x4z',
      'k8s.pod.uid': '3f2c1b0a-9e8d-4c7b-a6f5-e4d3c2b1a098',
      'k8s.container.name': 'istio-proxy',
      'k8s.container.restart_count': '2',
    },
  );
  const id = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef';
  assert.deepEqual(parseKubernetesLogPath(`/var/log/containers/checkout-7d9f8b6c5-x2x4z_shop_linkerd-proxy-${id}.log`), {
    'k8s.pod.name': 'checkout-7d9f8b6c5-x2x4z',
    'k8s.namespace.name': 'shop',
    'k8s.container.name': 'linkerd-proxy',
    'container.id': id,
  });
  assert.equal(parseKubernetesLogPath('/var/log/syslog'), undefined);
  assert.equal(parseKubernetesLogPath('/var/log/pods/not-a-pod-dir/c/0.log'), undefined);
});
