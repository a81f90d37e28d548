/** The traffic a rate limit counts: ingest (records and ingest requests) or queries. */
export type LimitedTraffic = 'ingest' | 'query';

/**
 * How many nodes share the rate limits (Loki's `ingestion_rate_strategy:
 * global`): each node enforces limit / nodes, so the cluster as a whole
 * allows about the limit. The cluster's membership offers it, the limits
 * use it.
 */
export interface LimitShare {
  nodesTaking(traffic: LimitedTraffic): number;
}
