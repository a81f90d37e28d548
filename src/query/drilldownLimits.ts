/**
 * What Loki answers on /loki/api/v1/drilldown-limits (pkg/loki/config_handler.go,
 * tenantLimitsHandler(forDrilldown)): the tenant's limits, filtered to Loki's
 * default tenant_limits_allow_publish fields, whether patterns are served, and
 * the version. Logs Drilldown reads it to decide which features to offer.
 */
export interface DrilldownLimitsInput {
  maxEntriesLimitPerQuery: number;
  maxQuerySeries: number;
  queryTimeoutMs: number;
  /** retention.default_max_age (`30d`, `12h`). */
  retentionPeriod: string;
  patternsEnabled: boolean;
  version: string;
}

const msPer: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  return match ? Number(match[1]) * msPer[match[2]] : 0;
}

/** Prometheus' model.Duration.String(): `0s`, `1m`, `4w2d`, `30d1h`… as Loki's limits marshal to JSON. */
export function prometheusDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: [string, number][] = [
    ['y', 31_536_000_000],
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

export function drilldownLimits(input: DrilldownLimitsInput): object {
  return {
    limits: {
      // meshlog names services and detects levels at ingest; the stream labels it tries are Loki's (pipeline/normalize/serviceName.ts).
      discover_log_levels: true,
      discover_service_name: [
        'service',
        'app',
        'application',
        'app_name',
        'name',
        'app_kubernetes_io_name',
        'container',
        'container_name',
        'k8s_container_name',
        'component',
        'workload',
        'job',
        'k8s_job_name',
      ],
      // The keys meshlog's ingest-time JSON and logfmt parsing takes the level from (pipeline/parse/structuredBody.ts).
      log_level_fields: ['level', 'lvl', 'severity', 'severity_text', 'log.level', 'levelname', 'loglevel', '@l'],
      max_entries_limit_per_query: input.maxEntriesLimitPerQuery,
      max_line_size_truncate: false,
      // 0 is Loki's "no limit": meshlog bounds queries by time (query_timeout) and series instead.
      max_query_bytes_read: '0B',
      max_query_length: '0s',
      max_query_lookback: '0s',
      max_query_range: '0s',
      max_query_series: input.maxQuerySeries,
      metric_aggregation_enabled: false,
      otlp_config: null,
      pattern_persistence_enabled: false,
      query_timeout: prometheusDuration(input.queryTimeoutMs),
      retention_period: prometheusDuration(durationMs(input.retentionPeriod)),
      retention_stream: null,
      volume_enabled: true,
      volume_max_series: 1000,
    },
    pattern_ingester_enabled: input.patternsEnabled,
    version: input.version,
  };
}
