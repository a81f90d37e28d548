import { z } from 'zod';
import { byteSize, flag, port, positiveInt, queryDuration } from '../formats/configValues.js';
import { patternsSection, pipelineSection } from '../pipeline/pipelineConfig.js';
import { accessReviewSection } from '../security/accessReviewConfig.js';
import { clusterSection } from '../cluster/clusterConfig.js';
import { isAddressOrCidr } from '../formats/senderTimeZones.js';
import { isTimeZone } from '../formats/zonedWallTime.js';
import { isTenantName, tenantNameRule } from '../model/tenantName.js';

/**
 * A PEM certificate chain and its private key; a listener with these speaks
 * TLS 1.2+. With `client_ca_file`, clients must present a certificate signed
 * by that CA (mTLS); `client_identities` maps a certificate's common name to
 * roles and tenants for requests that carry no token.
 */
const tlsFiles = z
  .object({
    cert_file: z.string().min(1),
    key_file: z.string().min(1),
    client_ca_file: z.string().min(1).optional(),
    client_identities: z
      .array(
        z
          .object({
            common_name: z.string().min(1),
            roles: z.array(z.enum(['admin', 'analyst', 'auditor', 'ingester', 'unmasker'])).min(1),
            tenants: z.array(z.string().min(1)).min(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
/** Address of a TCP/UDP listener; empty = the top-level `host`. */
const listenHost = z.string().min(1).optional();
const tenantName = z.string().refine(isTenantName, tenantNameRule).default('default');

/** How an alert receiver is retried: exponential backoff from initial_backoff_ms, at most max_attempts. */
const alertDelivery = {
  max_attempts: positiveInt.default(5),
  initial_backoff_ms: positiveInt.default(1000),
  timeout_ms: positiveInt.default(10_000),
};

/** The whole configuration of a meshlog server; defaults live here. */
/** An IANA time zone name, checked against Node's own zone data. */
const timeZoneName = z
  .string()
  .refine(isTimeZone, { message: 'unknown time zone: an IANA name such as Europe/Berlin, America/New_York or UTC' });

export const configSchema = z
  .object({
    data_dir: z.string().min(1).default('./data'),
    host: z.string().min(1).default('127.0.0.1'),
    http_port: port.default(3100),
    /** TLS for the HTTP port. */
    tls: tlsFiles.optional(),
    /** Listeners without TLS on a non-loopback address are refused unless this is true. */
    allow_plaintext: flag.default(false),
    /** A ClickHouse server (http[s]://user:pass@host:8123/db); empty = embedded chDB. */
    clickhouse_url: z.string().url().optional(),
    database: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'letters, digits and _ only')
      .default('meshlog'),
    /**
     * A ClickHouse cluster (a name from the server's remote_servers) the schema is created on: ON CLUSTER,
     * Replicated*MergeTree and a Distributed table per data table. Only with clickhouse_url.
     */
    clickhouse_cluster: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an identifier: letters, digits and _ only, not starting with a digit')
      .optional(),
    /** `token` requires a bearer token on every request; `none` allows anonymous access. */
    auth: z.enum(['token', 'none']).default('token'),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** meshlog's own logs: `json` lines for machines, `pretty` lines and a start-up summary for people; default: pretty when stdout is a terminal, else json. */
    log_format: z.enum(['json', 'pretty']).optional(),
    ingest: z
      .object({
        /** Largest accepted request body, compressed or not. */
        max_body_bytes: byteSize.default(16 * 1024 * 1024),
        /** Largest body after decompression (guards against zip bombs). */
        max_decompressed_bytes: byteSize.default(64 * 1024 * 1024),
        /** Records waiting for commit before new requests are refused with 429. */
        max_queued_records: positiveInt.default(500_000),
        /** Bytes of records waiting for commit before new requests are refused with 429 (long lines fill memory long before the record bound). */
        max_queued_bytes: byteSize.default(256 * 1024 * 1024),
        /** Records in one ClickHouse insert. */
        batch_max_records: positiveInt.default(100_000),
        /** How long the writer lets a batch fill before committing it. */
        batch_linger_ms: z.coerce.number().int().min(0).max(10_000).default(20),
        /** Committed record ids (log.record.uid) remembered to drop redeliveries; older ones are looked up in storage. */
        dedup_remembered_ids: z.coerce.number().int().min(1000).default(200_000),
        /** How far a sender's clock may run ahead: records observed within this of what memory covers are looked up in storage. */
        dedup_clock_skew_ms: z.coerce.number().int().min(0).default(120_000),
        /** Forgotten ids kept in a Bloom filter (≈3.6 bytes each): a record older than memory is looked up in storage only if the filter may hold it. */
        dedup_forgotten_ids: z.coerce.number().int().min(1000).default(10_000_000),
        /**
         * Loki's reject_old_samples: refuse records (event or observed time) older than
         * reject_old_samples_max_age, each on its own (see docs/ingest-limits.md).
         */
        reject_old_samples: flag.default(true),
        /** Loki's name; 7y by default (Loki: 1w) so agents' backlogs and backfills of kept logs are taken. */
        reject_old_samples_max_age: z
          .string()
          .regex(/^\d+(ms|s|m|h|d|w|y)$/, 'a duration such as 1w, 30d or 7y')
          .default('7y'),
        /** Loki's creation_grace_period: how far ahead of the server's clock a record's time may be. */
        creation_grace_period: z
          .string()
          .regex(/^\d+(ms|s|m|h|d|w|y)$/, 'a duration such as 10m')
          .default('10m'),
      })
      .strict()
      .prefault({}),
    shutdown_timeout_ms: positiveInt.default(30_000),
    /** SSO: JWT bearer tokens from an OIDC identity provider, mapped from claims to roles and tenants. */
    oidc: z
      .object({
        jwks_url: z.string().url(),
        issuer: z.string().min(1),
        audience: z.string().min(1),
        roles_claim: z.string().default('groups'),
        role_map: z.record(z.string(), z.enum(['admin', 'analyst', 'auditor', 'ingester', 'unmasker'])).default({}),
        tenants_claim: z.string().default('meshlog_tenants'),
        /** Whether a tenants claim of `*` grants every tenant; off, the identity provider can grant named tenants only. */
        all_tenants: z.boolean().default(false),
        name_claim: z.string().default('email'),
        /** Web UI single sign-on (authorization code + PKCE): the UI's client id at the provider; endpoints come from the issuer's discovery document. */
        client_id: z.string().min(1).optional(),
        /** File holding the client secret, for providers that do not accept public clients. */
        client_secret_file: z.string().min(1).optional(),
        scopes: z.string().default('openid email profile'),
      })
      .strict()
      .optional(),
    /** Tamper evidence: hash-chained batches and signed Merkle checkpoints (see integrity/). */
    integrity: z
      .object({
        /** Seal every committed batch into its tenant's hash chain. */
        seal: flag.default(true),
        /** Ed25519 checkpoint key, kept outside the data directory; default <data_dir>-signing.key beside it. */
        signing_key_file: z.string().min(1).optional(),
        /** How often chains that grew get a new signed checkpoint (also at shutdown). */
        checkpoint_interval_ms: z.coerce.number().int().min(100).default(10_000),
        /**
         * Seals are journaled at commit (one file append) and moved into the
         * seal tables this often in bulk: a table insert per commit would cost
         * about 10 ms of engine time on the commit path. Readers of seals move
         * them first, so nothing waits for this.
         */
        seal_flush_ms: z.coerce.number().int().min(10).max(60_000).default(1000),
      })
      .strict()
      .prefault({}),
    /** Abuse limits: token-bucket rates (0 = off), connections per listener, slow-client timeouts. */
    limits: z
      .object({
        /**
         * In a cluster: `global` (default), each node enforces the rates below divided by the live nodes that take the
         * traffic (ingest: roles all and gateway; queries: all and writer), so the cluster allows about each rate;
         * `local`, each node enforces the whole rates (N nodes allow N times them). One node alone: no difference.
         */
        strategy: z.enum(['global', 'local']).default('global'),
        /** Buckets hold this many seconds of their rate (the burst). */
        burst_seconds: z.coerce.number().positive().default(2),
        /** Ingest requests per credential: HTTP and OTLP/gRPC requests, forward chunks (shared key or client certificate), syslog TLS reads (client certificate). */
        ingest_requests_per_second_per_key: z.coerce.number().min(0).default(5000),
        /** Records per tenant, every protocol (syslog and forward carry no credential). */
        ingest_records_per_second_per_tenant: z.coerce.number().min(0).default(500_000),
        query_requests_per_second_per_key: z.coerce.number().min(0).default(50),
        query_requests_per_second_per_tenant: z.coerce.number().min(0).default(100),
        /** Open connections per TCP listener (HTTP, OTLP/gRPC, forward, syslog TCP/TLS); more are refused. */
        max_connections_per_listener: positiveInt.default(1024),
        /** Open connections per client address on each TCP listener (HTTP, OTLP/gRPC, forward, syslog TCP/TLS), so one client holding connections open cannot take every slot (0 = no cap). */
        max_connections_per_address: z.coerce.number().int().min(0).default(512),
        /** A forward or syslog TCP connection silent this long is closed. */
        tcp_idle_timeout_ms: positiveInt.default(300_000),
        /** A TLS handshake not finished in this time is dropped (every TLS listener). */
        tls_handshake_timeout_ms: positiveInt.default(10_000),
        /** HTTP request headers must arrive within this (slowloris). */
        http_headers_timeout_ms: positiveInt.default(10_000),
        /** A whole HTTP request, body included, must arrive within this. */
        http_request_timeout_ms: positiveInt.default(120_000),
        /** Ingest is refused (503, retryable) while the data directory's file system has less free space than this; meshlog's own writes (audit trail, seals) may use a quarter of it more (0 = off). Embedded chDB only. */
        min_free_disk_bytes: byteSize.default(512 * 1024 * 1024),
        /** Failed authentications from one client address (an IPv6 /64), on every path, within the window before its credentials get 429 unchecked (0 = off). */
        login_failures_per_address: z.coerce.number().int().min(0).default(20),
        /** Ignored (kept so existing configurations load): a lockout per account let anyone lock a key's owner out. */
        login_failures_per_account: z.coerce.number().int().min(0).default(5),
        login_failure_window_ms: positiveInt.default(900_000),
      })
      .strict()
      .prefault({}),
    /** Read-time masking: sensitive values are masked in query results and live tails unless the reader holds the `unmasker` role. */
    masking: z
      .object({
        /** Field names (log/resource attributes, labels, JSON and key=value fields in the line); `user.*` for a prefix; `.` and `_` are the same. */
        fields: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    /** Encryption at rest of embedded chDB: every table on an AES-256-CTR encrypted disk. */
    encryption: z
      .object({
        enabled: flag.default(true),
        /** `<id>:<hex>` keys, one a line, kept outside the data directory; default <data_dir>-storage.keys beside it (created on first start). MESHLOG_STORAGE_KEYS overrides it. */
        key_file: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** Parse, normalize and redact between receivers and storage. */
    pipeline: pipelineSection,
    /** Log template mining at ingest: every record gets the id of its template (see pipeline/patterns/). */
    patterns: patternsSection,
    /** The LogQL query API (Loki's /loki/api/v1/* and the UI's Explore). */
    query: z
      .object({
        /** Most lines one log query may ask for (Loki's max_entries_limit_per_query); Explore pages through larger results in queries of this size. */
        max_lines: positiveInt.default(5000),
        /**
         * Longest a query may run (Loki's query_timeout, default 1m): a Go duration (`30s`, `2m`, `500ms`) or milliseconds.
         * Past it the query stops, in ClickHouse and in the engine, and is answered 504 (ML_QUERY_TIMEOUT).
         */
        timeout: queryDuration.default(60_000),
        /**
         * ClickHouse also evaluates what it provably evaluates as the query engine does (label filters on
         * json/logfmt labels, unwrap, trace-id lookups by index, per-minute counts at off-minute edges…);
         * off, it runs only the stream selector, line filters and stream-label filters. Results are the same.
         */
        pushdown: flag.default(true),
      })
      .strict()
      .prefault({}),
    /** Live tail (Loki /tail WebSocket, /api/v1/tail SSE, meshlog query --tail). */
    tail: z
      .object({
        /** Lines buffered per subscriber; past it lines are dropped for that subscriber and counted. */
        buffer_lines: positiveInt.default(10_000),
        max_subscribers: positiveInt.default(100),
      })
      .strict()
      .prefault({}),
    /** The web UI served at `/` and its login sessions (HttpOnly cookie, CSRF token). */
    ui: z
      .object({
        enabled: flag.default(true),
        /** A session unused this long is logged out. */
        session_idle_timeout_ms: z.coerce.number().int().min(1000).default(1_800_000),
        /** A session older than this is logged out, however busy. */
        session_max_age_ms: z.coerce.number().int().min(1000).default(43_200_000),
      })
      .strict()
      .prefault({}),
    /** Alert rules in Loki ruler format, evaluated through the LogQL engine, and where alerts are sent. */
    alerting: z
      .object({
        enabled: flag.default(true),
        /** How often a group is evaluated when it names no `interval`. */
        evaluation_interval_ms: z.coerce.number().int().min(100).default(60_000),
        /** Loki ruler YAML files (`groups:`); a group reads tenant `default` unless it names `tenant:`. */
        rules_files: z.array(z.string().min(1)).default([]),
        /** Alertmanager-style JSON POSTs signed with HMAC-SHA256 (X-Meshlog-Signature: sha256=<hex>). */
        webhooks: z
          .array(
            z
              .object({
                url: z.string().url(),
                /** File holding the HMAC key. */
                secret_file: z.string().min(1),
                ...alertDelivery,
              })
              .strict(),
          )
          .default([]),
        /** Slack incoming webhooks. */
        slack: z.array(z.object({ url: z.string().url(), ...alertDelivery }).strict()).default([]),
        /** PagerDuty Events API v2: trigger on firing, resolve on resolution, deduplicated by alert. */
        pagerduty: z
          .array(
            z
              .object({
                url: z.string().url().default('https://events.pagerduty.com/v2/enqueue'),
                /** File holding the integration's routing key. */
                routing_key_file: z.string().min(1),
                ...alertDelivery,
              })
              .strict(),
          )
          .default([]),
        /** Detectors over the committed stream: volume, error rate, 401/403, new and surging patterns, silent services. */
        anomaly: z
          .object({
            enabled: flag.default(true),
            /** Width of the buckets counted and judged. */
            bucket_ms: z.coerce.number().int().min(100).default(60_000),
            /**
             * How long after a bucket ends records stamped in it still count (later ones are late and never judged).
             * Unset: half a bucket, at least 5 s, which covers shipper batching and the commit of a loaded server.
             */
            lateness_ms: z.coerce.number().int().min(0).optional(),
            /** Buckets the median/MAD baseline is taken over. */
            baseline_buckets: positiveInt.default(60),
            /** Buckets a service is watched before it is judged. */
            warmup_buckets: positiveInt.default(15),
            /** Robust deviations from the baseline that make an anomaly. */
            threshold: z.coerce.number().positive().default(6),
            /** Noise guard: fewer records per bucket are never a volume or pattern anomaly. */
            min_volume: positiveInt.default(20),
            /** Noise guard: fewer errors or 401/403 per bucket are never an anomaly. */
            min_errors: positiveInt.default(5),
            /** Consecutive empty buckets after which a service that used to send is reported silent. */
            silent_buckets: positiveInt.default(5),
            /** Lines a service must have sent before a template it never sent is reported (while it is young, everything is new). */
            new_pattern_warmup_lines: z.coerce.number().int().min(0).default(1000),
            /** Buckets in a row without any finding before a service's anomaly resolves (hysteresis against flapping). */
            resolve_after_buckets: positiveInt.default(10),
            /** Other settings for some tenants or services (the most specific match wins), or `enabled: false` to mute them. */
            overrides: z
              .array(
                z
                  .object({
                    tenant: z.string().min(1).optional(),
                    service: z.string().optional(),
                    enabled: flag.optional(),
                    threshold: z.coerce.number().positive().optional(),
                    min_volume: positiveInt.optional(),
                    min_errors: positiveInt.optional(),
                    silent_buckets: positiveInt.optional(),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** SOC 2 evidence reports (see compliance/). */
    /** How long logs are kept; meshlog disposes of older records and records what it disposed. */
    retention: z
      .object({
        /** Go duration or days (`30d`): the age after which records are disposed when no policy matches. */
        default_max_age: z
          .string()
          .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30d or 12h')
          .default('30d'),
        /** meshlog's own audit trail (SOC 2 auditors usually ask for a year). */
        audit_max_age: z
          .string()
          .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 400d')
          .default('400d'),
        /** First match wins: a tenant, optionally a service and a highest severity number (e.g. 8 = debug and below). */
        policies: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
                tenant: z.string().min(1),
                service: z.string().min(1).optional(),
                max_severity: z.coerce.number().int().min(0).max(24).optional(),
                max_age: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 400d'),
              })
              .strict(),
          )
          .default([]),
        /** How often expired records are disposed of. */
        check_interval_ms: z.coerce.number().int().min(1000).default(3_600_000),
      })
      .strict()
      .prefault({}),
    /** Erasure requests (privacy P4.3): how long a request can be cancelled before it runs on its own. */
    erasure: z
      .object({
        /** Go duration or days (`1d`); 0s runs requests at the next check. */
        cancel_window: z
          .string()
          .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 24h')
          .default('24h'),
        /** How often requests whose window has ended are executed. */
        check_interval_ms: z.coerce.number().int().min(1000).default(60_000),
      })
      .strict()
      .prefault({}),
    /** Logging policies (docs/policy.md): how often drift from each tenant's applied policy is evaluated, and over what window. */
    policy: z
      .object({
        evaluation_interval_ms: z.coerce.number().int().min(500).default(60_000),
        /** Required sources are counted over this window; their minimum events per hour is scaled to it. */
        source_window: z
          .string()
          .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 1h')
          .default('1h'),
        /** Streams seen over this window must each match a retention selector of the policy. */
        stream_window: z
          .string()
          .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 24h')
          .default('24h'),
      })
      .strict()
      .prefault({}),
    /** Incidents (docs/incidents.md): how long the lines an incident pinned stay held from retention after it is resolved. */
    incidents: z
      .object({
        hold_after_resolve: z
          .string()
          .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 90d')
          .default('90d'),
      })
      .strict()
      .prefault({}),
    /** Encrypted, signed archives (see archive/): where the keys live, both outside the data directory. */
    archive: z
      .object({
        /** 64 hex digits wrapping every archive data key; default <data_dir>-archive.key (MESHLOG_ARCHIVE_MASTER_KEY holds the key itself instead). In a cluster, the same key on every node: it never goes to NATS. */
        master_key_file: z.string().min(1).optional(),
        /** Per-tenant, per-month data keys (wrapped) and shredding tombstones; default <data_dir>-archive-keys. In a cluster, this node's copy of the cluster's ring. */
        key_ring_dir: z.string().min(1).optional(),
        /** S3-compatible object storage for `meshlog archive upload`, with Object Lock (WORM) until the tenant's longest retention has passed. */
        s3: z
          .object({
            bucket: z.string().min(3),
            /** Omit for AWS; e.g. https://minio.internal:9000 for another S3-compatible store. */
            endpoint: z.string().url().optional(),
            region: z.string().min(1).default('us-east-1'),
            /** Key prefix, e.g. `meshlog/`; objects go under <prefix><tenant>/<archive id>/. */
            prefix: z.string().default(''),
            force_path_style: flag.default(false),
            /** Better from the environment (MESHLOG_ARCHIVE_S3_ACCESS_KEY_ID, MESHLOG_ARCHIVE_S3_SECRET_ACCESS_KEY); without them the AWS SDK's own chain (AWS_* env, profile, instance role). Never logged. */
            access_key_id: z.string().min(1).optional(),
            secret_access_key: z.string().min(1).optional(),
            /** COMPLIANCE: nobody, not even the bucket owner, can delete or shorten it before retain-until. */
            object_lock_mode: z.enum(['COMPLIANCE', 'GOVERNANCE']).default('COMPLIANCE'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** Backups of the running server (`meshlog backup --server`, POST /api/v1/admin/backups). */
    backup: z
      .object({
        /** Where the server writes them, one directory each; default <data_dir>-backups. */
        dir: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** Periodic user-access reviews (see security/accessReviews.ts). */
    access_review: accessReviewSection,
    /** Several nodes on one NATS JetStream cluster (docs/operations/clustering.md); off: one node. */
    cluster: clusterSection,
    reports: z
      .object({
        /** Once a calendar month (UTC) has ended, generate its report over every tenant, store it and audit it. */
        monthly: flag.default(false),
        /** The Compliance dashboard's report (with its full verify) is reused this long per tenant and period, unless refreshed or a report is generated. */
        dashboard_cache_ms: z.coerce.number().int().min(0).default(300_000),
      })
      .strict()
      .prefault({}),
    /** Fluentd forward protocol v1 (Fluentd, Fluent Bit `forward` output). */
    forward: z
      .object({
        enabled: flag.default(true),
        host: listenHost,
        port: port.default(24224),
        /** Enables the HELO/PING/PONG handshake: clients must prove they know this key. */
        shared_key: z.string().min(1).optional(),
        /**
         * The handshake's username/password step (needs shared_key): each user
         * is its own credential, with its tenant and its own ingest rate. The
         * protocol proves a password by a digest the server recomputes, so the
         * file holds the password itself, not a hash of it.
         */
        users: z
          .array(
            z
              .object({
                username: z.string().regex(/^[A-Za-z0-9@._-]{1,128}$/, '1-128 of A-Z a-z 0-9 @ . _ -'),
                password_file: z.string().min(1),
                tenant: tenantName,
              })
              .strict(),
          )
          .default([]),
        tls: tlsFiles.optional(),
        /** Tenant of everything received here. */
        tenant: tenantName,
      })
      .strict()
      .prefault({})
      .refine((forward) => forward.users.length === 0 || forward.shared_key !== undefined, {
        message: 'forward.users needs forward.shared_key (the username/password step is part of the shared-key handshake)',
        path: ['users'],
      }),
    /** Syslog RFC 5424/3164. The protocol has no authentication: keep it on loopback or use TLS. */
    syslog: z
      .object({
        enabled: flag.default(true),
        host: listenHost,
        tcp_port: port.default(5514),
        udp_port: port.default(5514),
        /** Used only when `tls` is set. */
        tls_port: port.default(6514),
        tls: tlsFiles.optional(),
        tenant: tenantName,
        /**
         * The zone of RFC 3164 timestamps (`Mmm dd hh:mm:ss`), which carry none: the clock of the senders
         * (rsyslog's traditional forwarding format, network gear, winston-syslog write local time).
         */
        timezone: timeZoneName.default('UTC'),
        /** Senders whose clocks keep another zone than `timezone`, by source address or CIDR; the first entry that holds a sender wins. */
        sender_timezones: z
          .array(
            z
              .object({
                addresses: z
                  .array(
                    z
                      .string()
                      .refine(isAddressOrCidr, { message: 'not an IP address or CIDR block (e.g. 10.1.0.0/16, 192.0.2.7, 2001:db8::/32)' }),
                  )
                  .min(1),
                timezone: timeZoneName,
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    /** OTLP/gRPC logs (`LogsService/Export`), authenticated like the HTTP API. */
    otlp_grpc: z
      .object({
        enabled: flag.default(true),
        host: listenHost,
        port: port.default(4317),
        tls: tlsFiles.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    // A cluster's tables live on ClickHouse servers: embedded chDB has none to replicate to.
    if (config.clickhouse_cluster !== undefined && config.clickhouse_url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clickhouse_cluster'],
        message: 'clickhouse_cluster needs clickhouse_url (a server of that cluster); embedded chDB has no cluster',
      });
    }
    if (config.allow_plaintext) return;
    const loopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');
    const listeners: [string, boolean, string | undefined, boolean, string][] = [
      ['host', true, config.host, config.tls !== undefined, 'configure tls'],
      ['forward', config.forward.enabled, config.forward.host, config.forward.tls !== undefined, 'configure forward.tls'],
      // Syslog's TCP and UDP ports stay plaintext even when its TLS port is on.
      ['syslog', config.syslog.enabled, config.syslog.host, false, 'bind syslog.host to loopback and use syslog.tls, disable syslog'],
      ['otlp_grpc', config.otlp_grpc.enabled, config.otlp_grpc.host, config.otlp_grpc.tls !== undefined, 'configure otlp_grpc.tls'],
    ];
    for (const [key, enabled, host, encrypted, remedy] of listeners) {
      const address = host ?? config.host;
      if (enabled && !encrypted && !loopback(address)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `a plaintext listener on ${address} (non-loopback): ${remedy}, or set allow_plaintext: true`,
        });
      }
    }
  });

export type MeshlogConfig = z.infer<typeof configSchema>;
