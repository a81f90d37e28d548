import type { MeshlogConfig } from '../config/schema.js';
import { isoOfNs, type SectionInput } from './reportModel.js';

/** One effective configuration and the part of the period it was in force. */
export interface ConfigInForce {
  from: string;
  to: string;
  sha256: string;
  /** The snapshot recorded with `config.change` (secrets excluded). */
  config: MeshlogConfig;
}

/**
 * The configurations in force during the period, read back from the
 * `config.change` events every start and reload records when the effective
 * configuration differs (config/configChanges.ts): the last one before the
 * period, then each change in it. Empty when none was ever recorded.
 */
export async function configsInForce({ sources, period, audit }: SectionInput): Promise<ConfigInForce[]> {
  const [before] = await sources.auditStore.events({
    sinceNs: 0n,
    untilNs: period.fromNs,
    action: 'config.change',
    outcome: 'success',
    limit: 1,
  });
  const changes = [
    ...(before ? [before] : []),
    ...audit.filter(
      (event) =>
        event.action === 'config.change' && event.outcome === 'success' && !(event.time === before?.time && event.detail === before.detail),
    ),
  ];
  const periodFrom = isoOfNs(period.fromNs);
  const periodTo = isoOfNs(period.toNs);
  return changes.flatMap((event, index) => {
    const detail = JSON.parse(event.detail || '{}') as { sha256?: string; config?: MeshlogConfig };
    if (!detail.config || !detail.sha256) return [];
    const from = new Date(Math.max(Date.parse(event.time), Date.parse(periodFrom))).toISOString();
    const next = changes[index + 1];
    return [{ from, to: next ? new Date(Date.parse(next.time)).toISOString() : periodTo, sha256: detail.sha256, config: detail.config }];
  });
}
