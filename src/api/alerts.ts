/** `/api/v1/alerts`, `/api/v1/silences` and `/prometheus/api/v1/rules`: alert rules, their alerts and silences (docs/alerting.md). */

/** Who took on a current alert. */
export interface AlertAcknowledgement {
  by: string;
  at: string;
  comment: string;
  seconds_to_acknowledge: number;
}

/** One state change of an alert, as /api/v1/alerts returns it. */
export interface AlertTransition {
  fingerprint: string;
  namespace: string;
  group: string;
  alertname: string;
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  active_at: string;
  at: string;
  /** Current alerts only: who took it on, or null while nobody has. */
  acknowledged?: AlertAcknowledgement | null;
}

/** Notifications of alerts whose labels include every matcher are held back until `ends_at`. */
export interface Silence {
  id: string;
  matchers: Record<string, string>;
  starts_at: string;
  ends_at: string;
  active: boolean;
  created_by: string;
  comment: string;
}

export interface SilencesResponse {
  silences: Silence[];
}

/** An active instance of a rule, as Prometheus' rules API shows it. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  value: string;
}

/** One rule group of `/prometheus/api/v1/rules`, with each rule's state, health and active instances. */
export interface RuleGroup {
  name: string;
  file: string;
  interval: number;
  rules: {
    type: 'alerting';
    name: string;
    query: string;
    duration: number;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    state: 'inactive' | 'pending' | 'firing';
    health: string;
    lastError: string;
    lastEvaluation: string;
    evaluationTime: number;
    alerts: PrometheusAlert[];
  }[];
}

/** `GET /prometheus/api/v1/rules`. */
export interface RulesResponse {
  status: 'success';
  data: { groups: RuleGroup[] };
}

/** `GET /api/v1/alerts`: each alert's latest transition of the last day, with its acknowledgement. */
export interface AlertsResponse {
  alerts: AlertTransition[];
}

/** `GET /api/v1/alerts?history=true`: every transition. */
export interface AlertHistoryResponse {
  transitions: AlertTransition[];
}

/** GET /api/v1/alerts/backtest: when a rule would have fired and resolved over a past range. */
export interface RuleBacktestResponse {
  start: string;
  end: string;
  step_seconds: number;
  for_seconds: number;
  series: { labels: Record<string, string>; firings: { fired_at: string; resolved_at: string | null; value: number }[] }[];
}
