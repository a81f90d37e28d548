/**
 * The logs columns of a JSONCompactEachRow line, in its order: the insert
 * names them, so a column added later (with its default) never shifts them.
 * Every column is always written (no optional tail as in JSONEachRow rows):
 * the line rebuilt from a stored row is then the line inserted.
 */
export const compactLogColumns = [
  'tenant',
  'timestamp',
  'observed_timestamp',
  'severity_number',
  'severity_text',
  'service_name',
  'body',
  'resource_attributes',
  'scope_name',
  'scope_version',
  'log_attributes',
  'trace_id',
  'span_id',
  'trace_flags',
  'event_name',
  'mesh',
  'platform',
  'cluster',
  'source_workload',
  'destination_workload',
  'protocol',
  'response_code',
  'duration_ms',
  'bytes_sent',
  'bytes_received',
  'request_id',
  'receiver',
  'pattern_id',
  'stream_seq',
  'stream_pos',
  'chain_id',
  'batch_seq',
  'batch_pos',
] as const;
