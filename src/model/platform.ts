/**
 * Where a record's service ran, from its OpenTelemetry resource: the one rule
 * the ingest pipeline stores (pipeline/normalize/meshFields.ts) and the
 * coverage queries apply in SQL to records without mesh fields
 * (storage/stores/complianceQueries.ts builds its SQL from this table).
 */
export type Platform = 'kubernetes' | 'ecs' | 'serverless' | 'vm';

/** Every `cloud.platform` value of the OpenTelemetry semantic conventions, by what it runs on. */
export const cloudPlatforms: Readonly<Record<string, Platform>> = {
  alibaba_cloud_ecs: 'vm', // Alibaba's Elastic Compute Service is virtual machines, not AWS ECS.
  alibaba_cloud_fc: 'serverless',
  alibaba_cloud_openshift: 'kubernetes',
  aws_app_runner: 'serverless',
  aws_ec2: 'vm',
  aws_ecs: 'ecs',
  aws_eks: 'kubernetes',
  aws_elastic_beanstalk: 'vm',
  aws_lambda: 'serverless',
  aws_openshift: 'kubernetes',
  azure_aks: 'kubernetes',
  azure_app_service: 'serverless',
  azure_container_apps: 'serverless',
  azure_container_instances: 'serverless',
  azure_functions: 'serverless',
  azure_openshift: 'kubernetes',
  azure_vm: 'vm',
  gcp_app_engine: 'serverless',
  gcp_bare_metal_solution: 'vm',
  gcp_cloud_functions: 'serverless',
  gcp_cloud_run: 'serverless',
  gcp_compute_engine: 'vm',
  gcp_kubernetes_engine: 'kubernetes',
  gcp_openshift: 'kubernetes',
  ibm_cloud_openshift: 'kubernetes',
  oracle_cloud_compute: 'vm',
  oracle_cloud_oke: 'kubernetes',
  tencent_cloud_cvm: 'vm',
  tencent_cloud_eks: 'kubernetes',
  tencent_cloud_scf: 'serverless',
};

/** Resource attributes that only a Kubernetes pod carries. */
export const kubernetesAttributes = ['k8s.pod.name', 'k8s.namespace.name'] as const;

/**
 * A known `cloud.platform` decides; otherwise a pod's attributes say
 * Kubernetes; any other cloud or host is a VM; nothing said is ''.
 */
export function platformOf(resource: Record<string, string>): Platform | '' {
  const cloud = resource['cloud.platform'];
  const known = cloud === undefined ? undefined : cloudPlatforms[cloud];
  if (known) return known;
  if (kubernetesAttributes.some((name) => resource[name] !== undefined)) return 'kubernetes';
  if (cloud !== undefined || resource['host.name'] !== undefined) return 'vm';
  return '';
}
