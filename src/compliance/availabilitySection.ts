import type { ReportSection, SectionInput } from './reportModel.js';

/** Availability: server starts and stops in the period; a start with no stop before it means the previous run ended uncleanly. */
export async function availabilitySection({ audit }: SectionInput): Promise<ReportSection> {
  const lifecycle = audit.filter((event) => event.action === 'server.start' || event.action === 'server.stop').map((event) => ({ time: event.time, action: event.action }));
  const unclean = lifecycle.filter((event, index) => event.action === 'server.start' && index > 0 && lifecycle[index - 1].action === 'server.start');
  const base = {
    id: 'availability',
    title: 'Availability: server lifecycle',
    criteria: ['A1.2'],
    data: { lifecycle, unclean_restarts: unclean.map((event) => event.time), note: 'acknowledged writes are committed before the acknowledgement; an unclean stop loses nothing acknowledged' },
  };
  if (unclean.length > 0) return { ...base, status: 'attention', reason: `${unclean.length} restarts without a clean stop (crash or kill)` };
  return { ...base, status: 'pass', reason: `${lifecycle.length} starts and stops, all clean` };
}
