import type { Stage } from './ingestPipeline.js';
import { fallbackServiceName } from './normalize/serviceName.js';

/**
 * Every record gets a service_name, whether parsing is on or off: LogQL
 * selectors need a non-empty matcher, so a record without one could be
 * stored but never queried (Grafana, Logs Drilldown and alert rules all
 * select by service_name).
 */
export function serviceNameStage(): Stage {
  return (records) => {
    for (const record of records) record.serviceName = fallbackServiceName(record.serviceName, record.resource, record.attributes);
    return records;
  };
}
