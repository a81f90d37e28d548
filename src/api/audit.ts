/** `/api/v1/admin/audit`: events of meshlog's own audit trail, newest first. */

export interface AuditEventRow {
  time: string;
  action: string;
  outcome: string;
  actor_id: string;
  actor_name: string;
  actor_kind: string;
  remote_address: string;
  tenant: string;
  target: string;
  /** JSON of what the event says. */
  detail: string;
}

export interface AuditEventsResponse {
  events: AuditEventRow[];
}
