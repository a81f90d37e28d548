import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloudPlatforms, platformOf } from '../../src/model/platform.js';

test('GKE (cloud.platform gcp_kubernetes_engine) is kubernetes without any k8s.* attribute, not a vm', () => {
  assert.equal(platformOf({ 'cloud.platform': 'gcp_kubernetes_engine' }), 'kubernetes');
  assert.equal(platformOf({ 'cloud.platform': 'gcp_compute_engine', 'host.name': 'vm-1' }), 'vm');
});

test("Alibaba's ECS is a virtual machine, not AWS ECS, though both end in _ecs", () => {
  assert.equal(platformOf({ 'cloud.platform': 'alibaba_cloud_ecs' }), 'vm');
  assert.equal(platformOf({ 'cloud.platform': 'aws_ecs' }), 'ecs');
});

test('an unknown cloud.platform falls back to the pod attributes, then to vm; no resource at all says nothing', () => {
  assert.equal(platformOf({ 'cloud.platform': 'acme_cloud_k8s', 'k8s.pod.name': 'api-0' }), 'kubernetes');
  assert.equal(platformOf({ 'cloud.platform': 'acme_cloud_k8s' }), 'vm');
  assert.equal(platformOf({ 'host.name': 'db-1' }), 'vm');
  assert.equal(platformOf({}), '');
});

test('every platform value is one the SQL copy can inline as a literal', () => {
  for (const [value, platform] of Object.entries(cloudPlatforms)) assert.match(`${value} ${platform}`, /^[a-z0-9_]+ [a-z]+$/);
});
