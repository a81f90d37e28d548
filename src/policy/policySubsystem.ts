import type { FastifyPluginAsync } from 'fastify';
import type { MeshlogConfig } from '../config/schema.js';
import { maxAgeSeconds } from '../retention/disposer.js';
import { PolicyEnforcer, type PolicySources } from './policyEnforcer.js';
import { policyRoutes } from './policyRoutes.js';
import { redactionRoutes } from './redactionRoutes.js';
import type { ReadMasker } from '../query/readMasking.js';
import { PolicyStore } from '../storage/stores/policyStore.js';

/**
 * Tenants' logging policies (the `policy` section): the enforcer, whose drift
 * evaluation timer it stops, and the policy routes. A policy is held against
 * the retention, redaction and masking in force, which the redaction routes show
 * (a sample line through them, masked by the server's read masker).
 */
export async function policySubsystem(
  config: Pick<MeshlogConfig, 'policy' | 'retention' | 'pipeline' | 'masking'>,
  sources: Omit<PolicySources, 'store' | 'retention' | 'redactionRules' | 'maskedFields'> & { masker: ReadMasker },
) {
  const { masker, ...enforcerSources } = sources;
  const redaction = config.pipeline.redaction;
  const store = new PolicyStore(sources.storage);
  const enforcer = await PolicyEnforcer.open(
    {
      ...enforcerSources,
      store,
      retention: config.retention,
      redactionRules: redaction.enabled ? [...redaction.rules, ...redaction.custom.map((rule) => rule.name)] : [],
      maskedFields: config.masking.fields,
    },
    {
      intervalMs: config.policy.evaluation_interval_ms,
      sourceWindowMs: maxAgeSeconds(config.policy.source_window) * 1000,
      streamWindowMs: maxAgeSeconds(config.policy.stream_window) * 1000,
    },
  );
  const routes: FastifyPluginAsync = async (app) => {
    policyRoutes(app, { enforcer, store });
    redactionRoutes(app, { config, masker });
  };
  return { enforcer, routes, stop: () => enforcer.stop() };
}
