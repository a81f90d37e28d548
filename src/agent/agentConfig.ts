import { z } from 'zod';
import { loadSchemaConfig } from '../config/loadConfig.js';
import { byteSize } from '../formats/configValues.js';
import { isTenantName, tenantNameRule } from '../model/tenantName.js';

const positiveInt = z.coerce.number().int().positive();
const milliseconds = z.coerce.number().int().min(1);
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')]);
const labels = z.record(z.string().min(1), z.string()).default({});

/** A set of files read the same way. */
const fileInput = z
  .object({
    /** Glob patterns (`/var/log/app/*.log`); symlinks are followed, the file behind one is read once. */
    paths: z.array(z.string().min(1)).min(1),
    /** `raw`: one record a line; `container`: CRI or Docker json-file lines, partial lines joined. */
    format: z.enum(['raw', 'container']).default('raw'),
    /** Resource attributes of every record from these files. */
    labels,
  })
  .strict();

/** The whole configuration of `meshlog agent`; defaults live here. */
export const agentConfigSchema = z
  .object({
    /** meshlog's base URL; batches go to <server>/v1/logs. */
    server: z.string().url().default('http://127.0.0.1:3100'),
    /**
     * Several meshlog nodes of one cluster (instead of `server`): batches go to the first, and move on to the next
     * when it fails (round robin). In the environment, comma-separated.
     */
    servers: z
      .preprocess(
        (value) =>
          typeof value === 'string'
            ? value
                .split(',')
                .map((url) => url.trim())
                .filter((url) => url !== '')
            : value,
        z.array(z.string().url()).min(1),
      )
      .optional(),
    /** Bearer token (default: MESHLOG_TOKEN). */
    token: z.string().min(1).optional(),
    /** Sent as X-Scope-OrgID. */
    tenant: z.string().refine(isTenantName, tenantNameRule).optional(),
    /** Checkpoints and the disk buffer. */
    data_dir: z.string().min(1).default('./agent-data'),
    /** `/metrics`, `/ready` and `/sources`; port 0 = any free port (the bound address is logged). */
    http_host: z.string().min(1).default('127.0.0.1'),
    http_port: z.coerce.number().int().min(0).max(65535).default(3101),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    files: z.array(fileInput).default([]),
    /** Kubernetes node mode: every container's log under pods_dir, pod metadata from the path. */
    kubernetes: z
      .object({
        enabled: flag.default(false),
        pods_dir: z.string().min(1).default('/var/log/pods'),
        /** k8s.node.name of every record (the DaemonSet sets NODE_NAME from the downward API). */
        node_name: z.string().default(process.env.NODE_NAME ?? ''),
        cluster_name: z.string().default(''),
      })
      .strict()
      .default({ enabled: false, pods_dir: '/var/log/pods', node_name: process.env.NODE_NAME ?? '', cluster_name: '' }),
    /** The systemd journal, read through `journalctl -o json --follow`. */
    journald: z
      .object({
        enabled: flag.default(false),
        /** Journal files of this directory (journalctl --directory) instead of the local system journal. */
        directory: z.string().min(1).optional(),
        /** journalctl matches: `FIELD=value` (`_SYSTEMD_UNIT=nginx.service`), `+` between groups for OR. */
        matches: z.array(z.string().regex(/^([A-Z0-9_]+=.*|\+)$/, 'FIELD=value or +')).default([]),
        /** On the first start (no checkpoint yet): entries since this (journalctl --since: `-1h`, `today`, a date). */
        since: z.string().min(1).default('-1h'),
        journalctl: z.string().min(1).default('journalctl'),
        /** Resource attributes of every journal record. */
        labels,
      })
      .strict()
      .default({ enabled: false, matches: [], since: '-1h', journalctl: 'journalctl', labels: {} }),
    /** Where batches go: meshlog (OTLP/HTTP to <server>/v1/logs, the default), or another backend's push API. */
    output: z
      .object({
        type: z.enum(['otlp', 'loki', 'elasticsearch']).default('otlp'),
        /** The full endpoint; default <server>/v1/logs, <server>/loki/api/v1/push or <server>/_bulk. */
        url: z.string().url().optional(),
        /** Loki push body: `protobuf` (snappy logproto.PushRequest, Loki's own wire format) or `json` (gzip). */
        loki_encoding: z.enum(['protobuf', 'json']).default('protobuf'),
        /** Elasticsearch index (or data stream) of the documents. */
        index: z.string().min(1).default('logs-meshlog-agent'),
        /** Extra request headers, e.g. `Authorization: ApiKey …` for Elasticsearch. */
        headers: z.record(z.string().min(1), z.string()).default({}),
      })
      .strict()
      .default({ type: 'otlp', loki_encoding: 'protobuf', index: 'logs-meshlog-agent', headers: {} }),
    /** Read lines from standard input too; the agent exits once stdin ended and every line was acknowledged. */
    stdin: flag.default(false),
    /** Resource attributes of every record (host.name is added unless given). */
    labels,
    /** How often globs are expanded and files checked for growth, rotation and truncation. */
    poll_interval_ms: milliseconds.default(250),
    /** How long a file renamed or deleted away is still read after its last growth (writers may lag behind a rotation). */
    rotate_wait_ms: z.coerce.number().int().min(0).default(5_000),
    /** Longer lines are cut into records of this size. */
    max_line_bytes: byteSize.default(4 * 1024 * 1024),
    batch: z
      .object({
        max_records: positiveInt.default(2_500),
        /** Uncompressed line bytes in one batch (larger batches cost the agent more memory, not the server less CPU). */
        max_bytes: byteSize.default(512 * 1024),
        /** A batch is sent at the latest this long after its first line. */
        max_wait_ms: milliseconds.default(1_000),
      })
      .strict()
      .default({ max_records: 2_500, max_bytes: 512 * 1024, max_wait_ms: 1_000 }),
    buffer: z
      .object({
        /** Disk buffer cap: when full, files are no longer read until the server acknowledged some batches. */
        max_bytes: byteSize.default(256 * 1024 * 1024),
        segment_bytes: byteSize.default(8 * 1024 * 1024),
        /** fdatasync each batch (survives power loss, not only a crash of the agent). */
        fsync: flag.default(true),
        /** Batches (the log lines) encrypted on disk with AES-256-GCM. */
        encrypt: flag.default(true),
        /** The buffer key (64 hex), outside the data directory; default <data_dir>-buffer.key beside it, created owner-only. */
        key_file: z.string().min(1).optional(),
      })
      .strict()
      .default({ max_bytes: 256 * 1024 * 1024, segment_bytes: 8 * 1024 * 1024, fsync: true, encrypt: true }),
    delivery: z
      .object({
        /** Batches sent at once; duplicates after a crash are bounded by this many batches. */
        max_in_flight: positiveInt.default(4),
        request_timeout_ms: milliseconds.default(30_000),
        retry_initial_ms: milliseconds.default(250),
        retry_max_ms: milliseconds.default(30_000),
      })
      .strict()
      .default({ max_in_flight: 4, request_timeout_ms: 30_000, retry_initial_ms: 250, retry_max_ms: 30_000 }),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.files.length === 0 && !config.kubernetes.enabled && !config.stdin && !config.journald.enabled) {
      ctx.addIssue({
        code: 'custom',
        path: ['files'],
        message: 'nothing to read: give files (--path), kubernetes.enabled, journald.enabled or stdin',
      });
    }
  });

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** YAML file, then MESHLOG_AGENT_* environment, then flags (flags win). */
export function loadAgentConfig(options: { file?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, unknown> }): AgentConfig {
  return loadSchemaConfig(agentConfigSchema, 'MESHLOG_AGENT_', options);
}
