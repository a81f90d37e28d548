import type { CoverageSectionData } from '../api/reports.js';
import type { ServiceCoverageRow } from '../storage/stores/complianceQueries.js';
import type { ReportSection, SectionInput } from './reportModel.js';

const hourMs = 3_600_000;

/**
 * Hours with no record for a service, from the first complete hour of the
 * period to the last complete one: a service that started late or stopped
 * shows the silent hours before and after (a partial hour at either end is
 * never a gap).
 */
function gapHours(hours: number[], periodStartMs: number, periodEndMs: number): string[] {
  const present = new Set(hours.map((hour) => hour * 1000));
  const firstComplete = Math.ceil(periodStartMs / hourMs) * hourMs;
  const lastComplete = Math.floor(periodEndMs / hourMs) * hourMs - hourMs;
  const gaps: string[] = [];
  for (let hour = firstComplete; hour <= lastComplete; hour += hourMs) {
    if (!present.has(hour)) gaps.push(new Date(hour).toISOString());
  }
  return gaps;
}

/** Which values of a dimension were seen, with how many services sent them. */
function dimension(services: ServiceCoverageRow[], key: 'platforms' | 'clusters' | 'meshes' | 'receivers'): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const service of services) for (const value of service[key]) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Logging coverage: every service with its platforms, clusters, meshes and receivers, volume per day, and silent hours. */
export async function coverageSection({ sources, period }: SectionInput): Promise<ReportSection> {
  const [services, daily, hours] = await Promise.all([
    sources.queries.serviceCoverage(period),
    sources.queries.dailyVolume(period),
    sources.queries.serviceHours(period),
  ]);
  const startMs = Number(period.fromNs / 1_000_000n);
  const endMs = Math.min(Date.now(), Number(period.toNs / 1_000_000n));
  const gaps = hours
    .map((row) => ({ tenant: row.tenant, service: row.service, hours: gapHours(row.hours.map(Number), startMs, endMs) }))
    .filter((row) => row.hours.length > 0);
  const records = services.reduce((sum, service) => sum + Number(service.records), 0);
  const data = {
    services,
    platforms: dimension(services, 'platforms'),
    clusters: dimension(services, 'clusters'),
    meshes: dimension(services, 'meshes'),
    receivers: dimension(services, 'receivers'),
    volume_per_day: daily,
    total_records: records,
    gaps,
    gap_rule: 'an hour without records for a service between the first and the last complete hour of the period',
  };
  const base = { id: 'coverage', title: 'Logging coverage', criteria: ['CC7.1', 'CC7.2'], data: data satisfies CoverageSectionData };
  if (services.length === 0) return { ...base, status: 'fail', reason: 'no logs were received in the period' };
  if (gaps.length > 0) {
    // Hours are counted per service: a sum over services is no span of time, so it is called service-hours.
    const hoursMissing = gaps.reduce((sum, gap) => sum + gap.hours.length, 0);
    const longest = gaps.reduce((most, gap) => (gap.hours.length > most.hours.length ? gap : most));
    const hours = (count: number) => `${count} ${count === 1 ? 'hour' : 'hours'}`;
    const named = `${longest.tenant}/${longest.service}`;
    return {
      ...base,
      status: 'attention',
      reason:
        gaps.length === 1
          ? `1 of ${services.length} services had ${hours(longest.hours.length)} without logs (${named})`
          : `${gaps.length} of ${services.length} services had hours without logs: ${hoursMissing} service-hours in all, the most ${hours(longest.hours.length)} (${named})`,
    };
  }
  return { ...base, status: 'pass', reason: `${services.length} services logged ${records} records with no silent hour` };
}
