/**
 * Versioned schema. A migration runs once, in order, and is recorded in
 * schema_migrations; never edit one that has shipped, add the next.
 * `{db}` is replaced by the database name (an identifier validated by config).
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Which migrations a database has had (created before any of them). */
export const schemaMigrationsTable = `CREATE TABLE IF NOT EXISTS {db}.schema_migrations
        (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3))
        ENGINE = MergeTree ORDER BY version`;

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'logs table',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.logs (
        tenant LowCardinality(String),
        timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        observed_timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        severity_number UInt8,
        severity_text LowCardinality(String),
        service_name LowCardinality(String),
        body String CODEC(ZSTD(1)),
        resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        scope_name LowCardinality(String),
        scope_version LowCardinality(String),
        log_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        trace_id String CODEC(ZSTD(1)),
        span_id String CODEC(ZSTD(1)),
        trace_flags UInt8,
        event_name LowCardinality(String),
        mesh LowCardinality(String),
        platform LowCardinality(String),
        cluster LowCardinality(String),
        source_workload LowCardinality(String),
        destination_workload LowCardinality(String),
        protocol LowCardinality(String),
        response_code UInt16,
        duration_ms Float64 CODEC(ZSTD(1)),
        bytes_sent UInt64 CODEC(ZSTD(1)),
        bytes_received UInt64 CODEC(ZSTD(1)),
        request_id String CODEC(ZSTD(1)),
        receiver LowCardinality(String),
        chain_id LowCardinality(String),
        batch_seq UInt64 CODEC(Delta(8), ZSTD(1)),
        batch_pos UInt32 CODEC(Delta(4), ZSTD(1)),
        ingested_at DateTime64(3) DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),
        INDEX idx_body body TYPE text(tokenizer = splitByNonAlpha),
        INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX idx_request_id request_id TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_severity severity_number TYPE minmax GRANULARITY 1,
        INDEX idx_resource_keys mapKeys(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_attribute_keys mapKeys(log_attributes) TYPE bloom_filter(0.01) GRANULARITY 1
      )
      ENGINE = MergeTree
      PARTITION BY toDate(timestamp)
      ORDER BY (tenant, service_name, timestamp)
      SETTINGS index_granularity = 8192`,
    ],
  },
  {
    version: 2,
    name: 'spans table',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.spans (
        tenant LowCardinality(String),
        timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        trace_id String CODEC(ZSTD(1)),
        span_id String CODEC(ZSTD(1)),
        parent_span_id String CODEC(ZSTD(1)),
        trace_state String CODEC(ZSTD(1)),
        span_name LowCardinality(String),
        span_kind LowCardinality(String),
        service_name LowCardinality(String),
        resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        scope_name LowCardinality(String),
        scope_version LowCardinality(String),
        span_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        duration_ns UInt64 CODEC(ZSTD(1)),
        status_code LowCardinality(String),
        status_message String CODEC(ZSTD(1)),
        events_timestamp Array(DateTime64(9)) CODEC(ZSTD(1)),
        events_name Array(LowCardinality(String)) CODEC(ZSTD(1)),
        events_attributes Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
        receiver LowCardinality(String),
        ingested_at DateTime64(3) DEFAULT now64(3) CODEC(Delta(8), ZSTD(1)),
        INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1
      )
      ENGINE = MergeTree
      PARTITION BY toDate(timestamp)
      ORDER BY (tenant, service_name, span_name, timestamp)
      SETTINGS index_granularity = 8192`,
    ],
  },
  {
    version: 3,
    name: 'integrity seals',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.seal_batches (
        chain_id LowCardinality(String),
        tenant LowCardinality(String),
        batch_seq UInt64,
        record_count UInt32,
        content_hash FixedString(64),
        fingerprints Array(UInt64) CODEC(ZSTD(1)),
        prev_hash FixedString(64),
        batch_hash FixedString(64),
        min_time DateTime64(9),
        max_time DateTime64(9),
        committed_at DateTime64(3) DEFAULT now64(3)
      )
      ENGINE = MergeTree
      ORDER BY (chain_id, batch_seq)`,
      `CREATE TABLE IF NOT EXISTS {db}.seal_checkpoints (
        chain_id LowCardinality(String),
        tree_size UInt64,
        root_hash FixedString(64),
        note String,
        frontier Array(Tuple(size UInt64, hash FixedString(64))),
        head_hash FixedString(64),
        created_at DateTime64(3) DEFAULT now64(3)
      )
      ENGINE = MergeTree
      ORDER BY (chain_id, tree_size)`,
      `CREATE TABLE IF NOT EXISTS {db}.seal_events (
        chain_id LowCardinality(String),
        batch_seq UInt64,
        kind LowCardinality(String),
        detail String,
        at DateTime64(3) DEFAULT now64(3)
      )
      ENGINE = MergeTree
      ORDER BY (chain_id, batch_seq)`,
    ],
  },
  {
    version: 4,
    name: 'access control',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.api_keys (
        id String,
        name String,
        roles Array(LowCardinality(String)),
        tenants Array(String),
        secret_hash String,
        created_by String,
        created_at DateTime64(3),
        expires_at Nullable(DateTime64(3)),
        revoked_at Nullable(DateTime64(3)),
        revoked_by String DEFAULT '',
        version UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS {db}.api_key_usage (
        id String,
        last_used_at DateTime64(3)
      )
      ENGINE = ReplacingMergeTree(last_used_at)
      ORDER BY id`,
    ],
  },
  {
    version: 5,
    name: 'log patterns',
    statements: [
      `ALTER TABLE {db}.logs ADD COLUMN IF NOT EXISTS pattern_id LowCardinality(String) DEFAULT '' AFTER receiver`,
      // One row per template version; the latest (highest last_seen) carries the running count.
      `CREATE TABLE IF NOT EXISTS {db}.patterns (
        tenant LowCardinality(String),
        service_name LowCardinality(String),
        pattern_id String,
        template String CODEC(ZSTD(1)),
        first_seen DateTime64(3),
        last_seen DateTime64(3),
        count UInt64
      )
      ENGINE = ReplacingMergeTree(last_seen)
      ORDER BY (tenant, service_name, pattern_id)`,
    ],
  },
  {
    version: 6,
    name: 'alerting',
    statements: [
      // Every state change of every alert instance: the current state is the latest row.
      `CREATE TABLE IF NOT EXISTS {db}.alert_states (
        tenant LowCardinality(String),
        namespace String,
        rule_group String,
        alert_name LowCardinality(String),
        fingerprint String,
        state LowCardinality(String),
        labels Map(String, String),
        annotations Map(String, String),
        value Float64,
        active_at DateTime64(3),
        at DateTime64(3)
      )
      ENGINE = MergeTree
      ORDER BY (tenant, fingerprint, at)`,
      // Rule groups stored through the ruler API; a deleted group is a row with deleted = 1.
      `CREATE TABLE IF NOT EXISTS {db}.alert_rule_groups (
        tenant LowCardinality(String),
        namespace String,
        name String,
        yaml String,
        deleted UInt8,
        version DateTime64(3)
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY (tenant, namespace, name)`,
      `CREATE TABLE IF NOT EXISTS {db}.notification_attempts (
        tenant LowCardinality(String),
        fingerprint String,
        alert_name LowCardinality(String),
        status LowCardinality(String),
        receiver String,
        attempt UInt16,
        http_status UInt16,
        error String,
        at DateTime64(3)
      )
      ENGINE = MergeTree
      ORDER BY (tenant, at)`,
    ],
  },
  {
    version: 7,
    name: 'compliance reports',
    statements: [
      // Stored reports keep their JSON evidence byte for byte, so its SHA-256 still matches later.
      `CREATE TABLE IF NOT EXISTS {db}.compliance_reports (
        id String,
        kind LowCardinality(String),
        tenant String,
        period_from DateTime64(3),
        period_to DateTime64(3),
        generated_at DateTime64(3),
        generated_by String,
        sha256 FixedString(64),
        summary String,
        evidence String CODEC(ZSTD(3))
      )
      ENGINE = MergeTree
      ORDER BY (kind, period_from, id)`,
    ],
  },
  {
    version: 8,
    name: 'alert silences',
    statements: [
      // A silence is never deleted: expiring one early writes a new version with an earlier ends_at.
      `CREATE TABLE IF NOT EXISTS {db}.alert_silences (
        tenant LowCardinality(String),
        id String,
        matchers Map(String, String),
        starts_at DateTime64(3),
        ends_at DateTime64(3),
        created_by String,
        comment String,
        version DateTime64(3)
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY (tenant, id)`,
    ],
  },
  {
    version: 9,
    name: 'legal holds',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.legal_holds (
        id String,
        name String,
        tenant String,
        service String,
        from_time Nullable(DateTime64(9)),
        to_time Nullable(DateTime64(9)),
        reason String,
        created_by String,
        created_at DateTime64(3),
        released_at Nullable(DateTime64(3)),
        released_by String DEFAULT '',
        version UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY id`,
    ],
  },
  {
    version: 10,
    name: 'erasure requests',
    statements: [
      // One row per state of a request (pending, cancelled, executed); the latest version is the request.
      `CREATE TABLE IF NOT EXISTS {db}.erasure_requests (
        id String,
        tenant String,
        selector String,
        from_time DateTime64(9),
        to_time DateTime64(9),
        reason String,
        requested_by String,
        requested_at DateTime64(3),
        execute_after DateTime64(3),
        status LowCardinality(String),
        closed_by String DEFAULT '',
        closed_at Nullable(DateTime64(3)),
        cancel_reason String DEFAULT '',
        evidence String DEFAULT '',
        version UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY id`,
    ],
  },
  {
    version: 12,
    name: 'tenant registry',
    statements: [
      // One row per change of a tenant (created, disabled, enabled); the latest version is the tenant.
      `CREATE TABLE IF NOT EXISTS {db}.tenants (
        name String,
        description String,
        state LowCardinality(String),
        created_by String,
        created_at DateTime64(3),
        changed_by String,
        changed_at DateTime64(3),
        version UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY name`,
    ],
  },
  {
    version: 13,
    name: 'users',
    statements: [
      // One row per change of a user (created, key issued, disabled, enabled); the latest version is the user.
      `CREATE TABLE IF NOT EXISTS {db}.users (
        name String,
        email String,
        roles Array(String),
        tenants Array(String),
        state LowCardinality(String),
        key_ids Array(String),
        created_by String,
        created_at DateTime64(3),
        changed_by String,
        changed_at DateTime64(3),
        version UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY name`,
    ],
  },
  {
    version: 14,
    name: 'alert acknowledgements',
    statements: [
      // Who took an alert on, and when: the time to acknowledge is SOC 2 evidence that alerts are evaluated (CC7.3).
      `CREATE TABLE IF NOT EXISTS {db}.alert_acknowledgements (
        tenant LowCardinality(String),
        fingerprint String,
        alert_name String,
        active_at DateTime64(3),
        acknowledged_at DateTime64(3),
        acknowledged_by String,
        comment String
      )
      ENGINE = MergeTree
      ORDER BY (tenant, acknowledged_at)`,
    ],
  },
  {
    version: 15,
    name: 'saved queries',
    statements: [
      // One row per change of a saved query (saved, deleted); the latest version is the query.
      `CREATE TABLE IF NOT EXISTS {db}.saved_queries (
        tenant LowCardinality(String),
        id String,
        owner_id String,
        owner_name String,
        name String,
        query String,
        range_from String,
        range_to String,
        shared UInt8,
        created_at DateTime64(3),
        deleted UInt8,
        version UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY (tenant, id)`,
    ],
  },
  {
    version: 16,
    name: 'ui sessions',
    statements: [
      // One row per event of a UI session (created, seen, ended), keyed by a hash of the cookie value (never the
      // value itself). Events only add up (latest seen, ended once ever): a late "seen" from another process can
      // never bring an ended session back. Rows go once the session is past its maximum age.
      `CREATE TABLE IF NOT EXISTS {db}.ui_sessions (
        id_hash String,
        identity_id String,
        identity String,
        csrf_token String,
        created_at DateTime64(3),
        seen_at DateTime64(3),
        expires_at DateTime64(3),
        ended UInt8,
        ended_reason String
      )
      ENGINE = MergeTree
      ORDER BY (id_hash, seen_at)
      TTL toDateTime(expires_at) + INTERVAL 1 DAY`,
    ],
  },
  {
    version: 19,
    name: 'logs: namespace and level columns, per-minute counts',
    statements: [
      // Labels that selectors and `sum by` read on every row, computed once at insert instead of per row and query.
      // Each is exactly what the LogQL compiler computed before: k8s_namespace_name as Loki 3 names the
      // resource attribute (dotted key, else the label name as key, else any key that normalizes to it),
      // detected_level from the severity text, else the severity number.
      `ALTER TABLE {db}.logs ADD COLUMN IF NOT EXISTS k8s_namespace_name LowCardinality(String) MATERIALIZED
        multiIf(mapContains(resource_attributes, 'k8s.namespace.name'), resource_attributes['k8s.namespace.name'],
          mapContains(resource_attributes, 'k8s_namespace_name'), resource_attributes['k8s_namespace_name'],
          arrayElement(mapValues(resource_attributes), indexOf(arrayMap(k -> replaceRegexpAll(k, '[^A-Za-z0-9_]', '_'), mapKeys(resource_attributes)), 'k8s_namespace_name')))`,
      `ALTER TABLE {db}.logs ADD COLUMN IF NOT EXISTS detected_level LowCardinality(String) MATERIALIZED
        multiIf(severity_text != '', lower(severity_text), severity_number >= 21, 'fatal', severity_number >= 17, 'error',
          severity_number >= 13, 'warn', severity_number >= 9, 'info', severity_number >= 5, 'debug', severity_number >= 1, 'trace', '')`,
      // Erasure and retention delete rows with lightweight DELETE: the projection below is rebuilt for the parts
      // they touch, so its counts never include deleted rows.
      `ALTER TABLE {db}.logs MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild'`,
      // Entries and bytes per stream and minute m, the minute (m·60 s, (m+1)·60 s] as LogQL range windows are
      // left-open: count_over_time / rate / bytes_* with sum by these labels over minute-aligned windows read
      // this instead of every row (ClickHouse picks the projection when a query can be answered from it).
      // Sorted by tenant and minute: a query's minutes are one key range in each part, however many days are kept.
      `ALTER TABLE {db}.logs ADD PROJECTION IF NOT EXISTS minute_counts (
        SELECT tenant, intDiv(toUnixTimestamp64Nano(timestamp) - 1, 60000000000) AS minute, service_name, k8s_namespace_name, detected_level,
          count(), sum(length(body))
        GROUP BY tenant, minute, service_name, k8s_namespace_name, detected_level)`,
      // Existing rows: filled by background mutations; until then ClickHouse computes the columns on read
      // and reads rows for parts without the projection, so results are the same meanwhile.
      `ALTER TABLE {db}.logs MATERIALIZE COLUMN k8s_namespace_name`,
      `ALTER TABLE {db}.logs MATERIALIZE COLUMN detected_level`,
      `ALTER TABLE {db}.logs MATERIALIZE PROJECTION minute_counts`,
    ],
  },
  {
    version: 20,
    name: "logs: detected_level in Loki's vocabulary",
    statements: [
      // err → error, warning → warn, notice → info, crit → critical, pino 30 → info…, as Loki's distributor
      // normalizes levels; severity_text keeps the word as sent. Rows stored before are recomputed, and the
      // minute_counts projection rebuilt (MATERIALIZE alone keeps a part's existing projection). The expression is
      // model/severity.ts detectedLevelSql() as of this version (a test compares them: a change needs a new migration).
      `ALTER TABLE {db}.logs MODIFY COLUMN detected_level LowCardinality(String) MATERIALIZED
        multiIf(has(['10', '20', '30', '40', '50', '60', 'trace', 'trc', 'debug', 'dbg', 'info', 'inf', 'information', 'informational', 'notice', 'warn', 'wrn', 'warning', 'error', 'err', 'critical', 'crit', 'alert', 'fatal', 'emerg', 'emergency', 'panic'], lower(severity_text)), transform(lower(severity_text), ['10', '20', '30', '40', '50', '60', 'trace', 'trc', 'debug', 'dbg', 'info', 'inf', 'information', 'informational', 'notice', 'warn', 'wrn', 'warning', 'error', 'err', 'critical', 'crit', 'alert', 'fatal', 'emerg', 'emergency', 'panic'], ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'trace', 'trace', 'debug', 'debug', 'info', 'info', 'info', 'info', 'info', 'warn', 'warn', 'warn', 'error', 'error', 'critical', 'critical', 'critical', 'fatal', 'fatal', 'fatal', 'fatal'], ''),
          severity_number >= 21, 'fatal', severity_number >= 17, 'error', severity_number >= 13, 'warn',
          severity_number >= 9, 'info', severity_number >= 5, 'debug', severity_number >= 1, 'trace', severity_text)`,
      `ALTER TABLE {db}.logs MATERIALIZE COLUMN detected_level`,
      `ALTER TABLE {db}.logs CLEAR PROJECTION minute_counts`,
      `ALTER TABLE {db}.logs MATERIALIZE PROJECTION minute_counts`,
    ],
  },
  {
    version: 21,
    name: 'logs: rows by trace id',
    statements: [
      // Where each trace id's rows are, sorted by id: a lookup reads one granule of this instead of every
      // granule the bloom filter lets through (a trace's lines are spread over the whole range), then the
      // rows at those (service_name, timestamp) keys. A projection, not a table, so that ingest writes it
      // with the rows and erasure and retention deletes rebuild it (lightweight_mutation_projection_mode).
      `ALTER TABLE {db}.logs ADD PROJECTION IF NOT EXISTS trace_rows (
        SELECT tenant, trace_id, service_name, timestamp ORDER BY (tenant, trace_id))`,
      `ALTER TABLE {db}.logs MATERIALIZE PROJECTION trace_rows`,
    ],
  },
  {
    version: 22,
    name: 'logging policies and their drift',
    statements: [
      // Every policy applied to a tenant, never overwritten: the policy in force at any past time is the latest applied before it.
      `CREATE TABLE IF NOT EXISTS {db}.policy_versions (
        tenant LowCardinality(String),
        version UInt32,
        label String,
        sha256 String,
        yaml String CODEC(ZSTD(1)),
        signature String,
        diff String CODEC(ZSTD(1)),
        applied_at DateTime64(3),
        applied_by String,
        applied_by_id String
      )
      ENGINE = MergeTree
      ORDER BY (tenant, version)`,
      // Drift as events: one row when a finding opens and one when it resolves, so a past period's drift is read back as it was.
      `CREATE TABLE IF NOT EXISTS {db}.policy_drift (
        tenant LowCardinality(String),
        kind LowCardinality(String),
        subject String,
        state LowCardinality(String),
        detail String,
        policy_version UInt32,
        at DateTime64(3)
      )
      ENGINE = MergeTree
      ORDER BY (tenant, at)`,
    ],
  },
  {
    version: 23,
    name: 'incidents as timelines',
    statements: [
      // An incident is the events of its timeline, never overwritten: opened, notes, state changes, pins, linked alerts.
      // Its state, owner and response times are read back from them, so a past period's incidents are read as they were.
      `CREATE TABLE IF NOT EXISTS {db}.incident_events (
        tenant LowCardinality(String),
        incident_id String,
        event_id String,
        at DateTime64(3),
        kind LowCardinality(String),
        actor String,
        actor_id String,
        detail String CODEC(ZSTD(1))
      )
      ENGINE = MergeTree
      ORDER BY (tenant, incident_id, at)`,
    ],
  },
  {
    version: 24,
    name: 'notifications owed',
    statements: [
      // What each receiver is still owed, and what a silence holds back (receiver 'held'), so that a restart,
      // graceful or not, still delivers it. The latest version of a key is its state: owed, or settled.
      `CREATE TABLE IF NOT EXISTS {db}.notifications_owed (
        tenant LowCardinality(String),
        fingerprint String,
        receiver String,
        notification String CODEC(ZSTD(1)),
        owed UInt8,
        at DateTime64(3),
        version UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY (tenant, fingerprint, receiver)`,
    ],
  },
  {
    version: 25,
    name: 'logs: no map-key bloom filters',
    statements: [
      // Every granule holds the same attribute keys, so these bloom filters never skipped one: pure insert and merge
      // cost. Dropping them only removes their files; rows, and so every seal, are untouched. (The body's text index
      // stays as it is: rebuilding it with bit-packed posting lists saved 4% of its bytes on bench rows, and would
      // leave term searches scanning bodies on every stored part until the rebuild reached it.)
      `ALTER TABLE {db}.logs DROP INDEX IF EXISTS idx_resource_keys`,
      `ALTER TABLE {db}.logs DROP INDEX IF EXISTS idx_attribute_keys`,
    ],
  },
  {
    version: 26,
    name: 'logs: namespace column normalizes only keys of its length',
    statements: [
      // Rows without k8s.namespace.name (VMs, syslog, serverless) ran a regex over every resource key at insert;
      // a key normalizes to the 18-character name only if it has 18 characters (keys are valid UTF-8, and the
      // regex is UTF-8 aware), so the others skip it, as the LogQL compiler's lookup does. The same values:
      // 1M rows of 8 keys inserted in 2.4-2.8 s before, 0.9-1.1 s after (0.6-0.8 s without the column).
      // A new expression only (no mutation): stored parts keep their values, which are the same.
      `ALTER TABLE {db}.logs MODIFY COLUMN k8s_namespace_name LowCardinality(String) MATERIALIZED
        multiIf(mapContains(resource_attributes, 'k8s.namespace.name'), resource_attributes['k8s.namespace.name'],
          mapContains(resource_attributes, 'k8s_namespace_name'), resource_attributes['k8s_namespace_name'],
          arrayElement(mapValues(resource_attributes), indexOf(arrayMap(k -> if(lengthUTF8(k) = 18, replaceRegexpAll(k, '[^A-Za-z0-9_]', '_'), ''), mapKeys(resource_attributes)), 'k8s_namespace_name')))`,
    ],
  },
  {
    version: 27,
    name: 'logs: rows by their place in a 5-minute cycle',
    statements: [
      // A range query off the minute cuts the same second of every period-th minute; the rows before (or after)
      // that second are read beside the per-minute counts. In the table's order a granule of one service spans
      // minutes, so every granule holds such rows and every row's timestamp was read (10M rows for a day at 10M
      // lines). Ordered by the place in the cycle, they are one key range per service and part: at 10M lines,
      // rate by service over a day at a 5-minute step 13 s off the minute reads 0.57M rows instead of 10M, one
      // service's logs volume 0.11M instead of 0.92M. Granules of 1,024 rows: each key range reads less past its
      // ends (1.0M rows at 8,192), and ClickHouse, which picks a projection by marks, still finds fewer here.
      // Labels the per-minute counts keep, and the timestamp: about 6.2 B/row (projections take the default
      // codec, not the column's Delta). A projection, so that deletes rebuild it.
      `ALTER TABLE {db}.logs ADD PROJECTION IF NOT EXISTS cycle_positions (
        SELECT tenant, service_name, k8s_namespace_name, detected_level, timestamp
        ORDER BY (tenant, service_name, (toUnixTimestamp64Nano(timestamp) - 1) % 300000000000))
        WITH SETTINGS (index_granularity = 1024)`,
      `ALTER TABLE {db}.logs MATERIALIZE PROJECTION cycle_positions`,
    ],
  },
  {
    version: 28,
    name: 'logs: stream position of clustered records',
    statements: [
      // In a cluster, each row says which record of which stream message it is (0 elsewhere), written in the same
      // insert as the row: a message redelivered after its commit (node killed before its acknowledgement) is
      // recognised, record by record, and not stored twice. Old parts hold no such column and read as 0.
      `ALTER TABLE {db}.logs ADD COLUMN IF NOT EXISTS stream_seq UInt64 DEFAULT 0 CODEC(Delta(8), ZSTD(1))`,
      `ALTER TABLE {db}.logs ADD COLUMN IF NOT EXISTS stream_pos UInt32 DEFAULT 0 CODEC(ZSTD(1))`,
      // Stream sequences grow with time: a part's min-max range prunes every part but the few recent ones.
      `ALTER TABLE {db}.logs ADD INDEX IF NOT EXISTS idx_stream_seq stream_seq TYPE minmax GRANULARITY 1`,
    ],
  },
  {
    version: 29,
    name: 'seal_batches: the line format each batch was sealed and inserted in',
    statements: [
      // The writer inserts JSONCompactEachRow (no key names: the engine parses it in 0.70× the time of
      // JSONEachRow) and seals those bytes; verify rebuilds a batch's lines in the format it was sealed in.
      // Seals stored before hold JSONEachRow lines, the default.
      `ALTER TABLE {db}.seal_batches ADD COLUMN IF NOT EXISTS line_format Enum8('JSONEachRow' = 0, 'JSONCompactEachRow' = 1)
        DEFAULT 'JSONEachRow' AFTER record_count`,
    ],
  },
  {
    version: 30,
    name: 'logs: body text index over words, digits left out',
    statements: [
      // The index over the whole body held every request id, port, size and time of a part, nearly all distinct:
      // half the table on access lines. Over the body with its digit runs turned to spaces (bodyWordsIndex.ts's
      // bodyWordsSql as of this version; a test compares them) it holds words, and bit-packed posting lists take
      // a third less again. A filter whose words are all digits scans bodies; results are the same.
      `ALTER TABLE {db}.logs DROP INDEX IF EXISTS idx_body`,
      `ALTER TABLE {db}.logs ADD INDEX IF NOT EXISTS idx_body_words (replaceRegexpAll(body, '[0-9]+', ' '))
        TYPE text(tokenizer = splitByNonAlpha, posting_list_codec = 'bitpacking')`,
      // Stored parts get the new index by a background mutation (it rewrites index files only, never rows, so no
      // seal changes); until it reaches a part, searches scan that part's bodies.
      `ALTER TABLE {db}.logs MATERIALIZE INDEX idx_body_words`,
    ],
  },
];
