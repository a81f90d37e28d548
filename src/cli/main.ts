#!/usr/bin/env node
import { Command, Option } from 'commander';
import { agentCommand } from './agentCommand.js';
import { mineCommand } from './patternsCommand.js';
import { queryCommand } from './queryCommand.js';
import { auditCommand } from './auditCommand.js';
import { keysCreate, keysList, keysRevoke } from './keysCommands.js';
import { tenantsCreate, tenantsList, tenantsSetState } from './tenantsCommands.js';
import { usersCreate, usersKey, usersList, usersSetState, usersUpdate } from './usersCommands.js';
import type { VerifyFlags } from './verifyCommand.js';
import { roles } from '../security/identity.js';

/** What each command's --token must hold, said in its help (the server names the missing role when it refuses). */
const needs = {
  admin: 'a token with the admin role for the tenants concerned, e.g. the bootstrap admin token (default: MESHLOG_TOKEN)',
  adminAll: 'a token with the admin role for every tenant (*), e.g. the bootstrap admin token (default: MESHLOG_TOKEN)',
  audit: 'a token with the auditor or admin role for the tenants concerned (default: MESHLOG_TOKEN)',
  auditAll: 'a token with the auditor or admin role for every tenant (*) (default: MESHLOG_TOKEN)',
} as const;
const program = new Command()
  .name('meshlog')
  .description('Log aggregation for service meshes, with SOC 2 evidence built in')
  .version('0.1.0');

program
  .command('start')
  .description('run a meshlog server (embedded ClickHouse unless --clickhouse-url is given)')
  .option('-c, --config <file>', 'YAML config file')
  .option('--data-dir <dir>', 'where data, tokens and keys are kept (default ./data)')
  .option('--host <address>', 'address to listen on (default 127.0.0.1)')
  .option('--http-port <port>', 'HTTP port for every HTTP API (default 3100)')
  .option('--clickhouse-url <url>', 'use a ClickHouse server instead of embedded chDB')
  .option('--database <name>', 'ClickHouse database (default meshlog)')
  .addOption(new Option('--auth <mode>', 'token: bearer token required; none: anonymous access').choices(['token', 'none']))
  .addOption(new Option('--log-level <level>', 'self-log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .addOption(
    new Option(
      '--log-format <format>',
      'self-log format: json lines for machines, or pretty lines plus a start-up summary for people (default: pretty on a terminal, else json)',
    ).choices(['json', 'pretty']),
  )
  .option('--max-body-bytes <size>', 'largest accepted request body, e.g. 16MiB')
  .option('--reject-old-samples-max-age <duration>', 'refuse records older than this (ingest.reject_old_samples_max_age), e.g. 1w, 30d, 7y')
  .option(
    '--creation-grace-period <duration>',
    'refuse records more than this ahead of the server clock (ingest.creation_grace_period), e.g. 10m',
  )
  .option('--forward-port <port>', 'Fluentd forward TCP port (default 24224; 0 = any free port)')
  .option('--no-forward', 'do not listen for Fluentd forward')
  .option('--syslog-port <port>', 'syslog TCP and UDP port (default 5514; 0 = any free port)')
  .option('--syslog-tls-port <port>', 'syslog TLS port, used when syslog.tls is configured (default 6514)')
  .option('--no-syslog', 'do not listen for syslog')
  .option('--otlp-grpc-port <port>', 'OTLP/gRPC port (default 4317; 0 = any free port)')
  .option('--no-otlp-grpc', 'do not listen for OTLP/gRPC')
  .addOption(
    new Option(
      '--role <role>',
      'in a cluster (cluster.role): all receives and commits; gateway receives and publishes only; writer commits the stream only',
    ).choices(['all', 'gateway', 'writer']),
  )
  // Loaded when run: the server, verify and report commands bring embedded ClickHouse (~200 MB resident), which the agent must not carry.
  .action(async (flags) => (await import('./startCommand.js')).startCommand(flags));

program
  .command('query')
  .description("run a LogQL query against a running server's Loki API (like logcli)")
  .argument('<logql>', 'LogQL log or metric query')
  .option('--from <time>', 'start: RFC3339, or Unix seconds/nanoseconds (default: now - since)')
  .option('--to <time>', 'end: RFC3339, or Unix seconds/nanoseconds (default: now)')
  .option('--since <duration>', 'how far back when --from is not given', '1h')
  .option('--limit <n>', 'most log lines to return', '30')
  .option('--step <duration>', 'resolution of metric queries')
  .addOption(new Option('--direction <direction>', 'order of log lines').choices(['backward', 'forward']).default('backward'))
  .addOption(new Option('--output <format>', 'output format').choices(['table', 'raw', 'jsonl', 'json']).default('table'))
  .option('--server <url>', 'meshlog server URL', process.env.MESHLOG_SERVER ?? 'http://127.0.0.1:3100')
  .option('--token <token>', 'a token with the analyst or admin role for the tenant (default: MESHLOG_TOKEN)')
  .option('--org-id <tenant>', 'tenant to query (X-Scope-OrgID)')
  .option('--tail', 'follow new lines as they are committed (log queries; --from sets how far back history starts)')
  .action(queryCommand);

program
  .command('verify')
  .description(
    'prove stored logs were not altered or lost: recompute every batch seal, walk the chains, check signed checkpoints (exit 1 on any finding)',
  )
  .option('--server <url>', 'meshlog server URL', process.env.MESHLOG_SERVER ?? 'http://127.0.0.1:3100')
  .option('--token <token>', `${needs.audit}; none with --data-dir`)
  .option('--data-dir <dir>', 'verify a data directory offline instead (no server may be running on it)')
  .option('--database <name>', 'ClickHouse database of --data-dir', 'meshlog')
  .option(
    '--public-key <file|key>',
    'checkpoint verifier key, or a file of keys one a line (a cluster’s published key set; default: <data-dir>-signing.key.pub)',
  )
  .option('--tenant <tenant>', 'only this tenant (default: all)')
  .option('--from <time>', 'only batches with records at or after: RFC3339, Unix time, or a duration ago (24h, 7d)')
  .option('--to <time>', 'only batches with records at or before')
  .addOption(new Option('--output <format>', 'findings as text lines or one JSON report').choices(['text', 'json']).default('text'))
  .action(async (flags: VerifyFlags) => {
    try {
      await (await import('./verifyCommand.js')).verifyCommand(flags);
    } catch (error) {
      process.stderr.write(`meshlog verify: ${(error as Error).message}\n`);
      process.exit(2);
    }
  });

program
  .command('agent')
  .description('ship log files, Kubernetes container logs or stdin to meshlog, with a disk buffer and acknowledged checkpoints')
  .option('-c, --config <file>', 'agent YAML config file')
  .option(
    '--server <url>',
    'meshlog server URL (default http://127.0.0.1:3100); repeat it (or comma-separate) for the nodes of a cluster: the agent fails over between them',
    (value: string, previous: string[] = []) => [...previous, value],
  )
  .option(
    '--token <token>',
    'a token with the ingester or admin role for the tenant, e.g. from meshlog keys create --role ingester (default: MESHLOG_TOKEN)',
  )
  .option('--tenant <tenant>', 'tenant to ship to (X-Scope-OrgID)')
  .option('--path <glob>', 'file glob to tail (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
  .option('--data-dir <dir>', 'checkpoints and disk buffer (default ./agent-data)')
  .option('--http-port <port>', 'port of /metrics, /ready and /sources (default 3101; 0 = any free port)')
  .option('--kubernetes', 'node mode: tail every container log under /var/log/pods')
  .option('--stdin', 'read lines from standard input too')
  .addOption(new Option('--log-level <level>', 'self-log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action(agentCommand);

program
  .command('patterns')
  .description('log template mining')
  .command('mine')
  .description('mine log templates from one message per line, with the miner used at ingest')
  .argument('[file]', 'input file, or - for standard input (default)')
  .addOption(new Option('--output <format>', 'output format: line_number,pattern_id,template per line').choices(['csv']).default('csv'))
  .option('--similarity <share>', "share of a template's tokens a line must match to join it (default 0.7)")
  .action(mineCommand);

const serverOptions = (command: Command, token: string = needs.admin) =>
  command
    .option('--server <url>', 'meshlog server URL (or MESHLOG_SERVER)', process.env.MESHLOG_SERVER ?? 'http://127.0.0.1:3100')
    .option('--token <token>', token);
const collect = (value: string, previous: string[] = []) => [...previous, value];
/** Every role a key or user can hold (admin, analyst, auditor, ingester, unmasker), from the one list the server checks. */
const roleList = `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}`;

const keys = program.command('keys').description('API keys of a running server (admin)');
serverOptions(keys.command('create').description('create a key; it is printed once'))
  .requiredOption('--name <name>', 'who or what uses the key')
  .requiredOption('--role <role>', `${roleList} (repeatable)`, collect)
  .requiredOption('--tenant <tenant>', 'tenant the key may act on, or * for all (repeatable)', collect)
  .option('--expires <duration>', 'expire after, e.g. 90d or 720h')
  .addOption(
    new Option('--output <format>', 'text; json; or token: the key alone, for KEY=$(meshlog keys create … --output token)')
      .choices(['text', 'json', 'token'])
      .default('text'),
  )
  .action(keysCreate);
serverOptions(keys.command('list').description('every key with its roles, tenants, state and last use'))
  .addOption(new Option('--output <format>').choices(['table', 'json']).default('table'))
  .action(keysList);
serverOptions(keys.command('revoke').description('revoke a key now').argument('<id>', 'key id')).action(keysRevoke);
keys
  .command('rotate-storage')
  .description(
    'add a new encryption-at-rest key and make it current (older parts stay readable): at once on a running server with --server, else from the next start or SIGHUP',
  )
  .option('--server <url>', 'rotate on this running server (admin token), no restart')
  .option('--token <token>', `with --server: ${needs.adminAll}`)
  .option('-c, --config <file>', 'YAML config file (for data_dir and encryption.key_file)')
  .option('--data-dir <dir>', 'data directory whose key file to rotate (default ./data)')
  .option('--key-file <file>', 'the key file (default: encryption.key_file, else <data-dir>-storage.keys)')
  .action(async (flags) => (await import('./rotateStorageKeyCommand.js')).rotateStorageKeyCommand(flags));

program
  .command('storage')
  .description('the data directory of a stopped server')
  .command('encrypt')
  .description('move a plaintext data directory onto the encrypted disk (offline; then start with encryption enabled)')
  .option('-c, --config <file>', 'YAML config file (for data_dir and encryption.key_file)')
  .option('--data-dir <dir>', 'data directory to encrypt (default ./data)')
  .option(
    '--key-file <file>',
    'storage key file (default: encryption.key_file, else <data-dir>-storage.keys, created if missing; or MESHLOG_STORAGE_KEYS)',
  )
  .action(async (flags) => (await import('./encryptStorageCommand.js')).encryptStorageCommand(flags));

const users = program.command('users').description('users of a running server and the keys issued to them (admin)');
serverOptions(users.command('create').description('create a user with the roles and tenants they may hold').argument('<name>', 'user name'))
  .option('--email <address>', "the user's e-mail")
  .requiredOption('--role <role>', `${roleList} (repeatable)`, collect)
  .requiredOption('--tenant <tenant>', 'tenant the user may act on, or * for all (repeatable)', collect)
  .action(usersCreate);
serverOptions(users.command('list').description('every user with roles, tenants, state and keys'))
  .addOption(new Option('--output <format>').choices(['table', 'json']).default('table'))
  .action(usersList);
serverOptions(
  users
    .command('key')
    .description("issue a key to a user, within the user's roles and tenants; it is printed once")
    .argument('<name>', 'user name'),
)
  .option('--role <role>', "narrow the key's roles (repeatable; default: the user's)", collect)
  .option('--tenant <tenant>', "narrow the key's tenants (repeatable; default: the user's)", collect)
  .option('--expires <duration>', 'expire after, e.g. 90d or 720h')
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(usersKey);
serverOptions(
  users
    .command('update')
    .description("change a user's e-mail, roles or tenants; keys that would hold more than the user are revoked")
    .argument('<name>', 'user name'),
)
  .option('--email <address>', "the user's e-mail")
  .option('--role <role>', 'the roles the user holds from now on (repeatable; replaces the list)', collect)
  .option('--tenant <tenant>', 'the tenants the user holds from now on, or * (repeatable; replaces the list)', collect)
  .action(usersUpdate);
serverOptions(
  users.command('disable').description('disable a user and revoke every key issued to them').argument('<name>', 'user name'),
).action((name: string, flags) => usersSetState('disable', name, flags));
serverOptions(
  users.command('enable').description('let keys be issued to the user again (revoked keys stay revoked)').argument('<name>', 'user name'),
).action((name: string, flags) => usersSetState('enable', name, flags));

const tenants = program.command('tenants').description('the tenant registry of a running server (admin)');
serverOptions(tenants.command('create').description('register a tenant').argument('<name>', 'tenant name'), needs.adminAll)
  .option('--description <text>', 'what the tenant is')
  .action(tenantsCreate);
serverOptions(tenants.command('list').description('registered tenants with their state'))
  .addOption(new Option('--output <format>').choices(['table', 'json']).default('table'))
  .action(tenantsList);
serverOptions(
  tenants.command('disable').description('refuse ingest and queries of the tenant, for every credential').argument('<name>', 'tenant name'),
).action((name: string, flags) => tenantsSetState('disable', name, flags));
serverOptions(
  tenants.command('enable').description('take ingest and queries of the tenant again').argument('<name>', 'tenant name'),
).action((name: string, flags) => tenantsSetState('enable', name, flags));

type AccessReviewCommands = typeof import('./accessReviewCommands.js');
const accessReview = program
  .command('access-review')
  .description(
    'periodic user-access reviews: every grant of a tenant kept or revoked by an admin or auditor who does not hold it, then signed off',
  );
const outputOption = () => new Option('--output <format>').choices(['table', 'json']).default('table');
serverOptions(
  accessReview.command('start').description("start a review of a tenant's keys and users now (the population is frozen at this moment)"),
  needs.audit,
)
  .requiredOption('--tenant <tenant>', 'tenant whose grants are reviewed')
  .addOption(outputOption())
  .action(async (...args: Parameters<AccessReviewCommands['accessReviewStart']>) =>
    (await import('./accessReviewCommands.js')).accessReviewStart(...args),
  );
serverOptions(accessReview.command('list').description('reviews of the tenants this token holds, newest first'), needs.audit)
  .option('--tenant <tenant>', 'only this tenant')
  .addOption(new Option('--state <state>').choices(['open', 'decided', 'signed_off']))
  .addOption(outputOption())
  .action(async (...args: Parameters<AccessReviewCommands['accessReviewList']>) =>
    (await import('./accessReviewCommands.js')).accessReviewList(...args),
  );
serverOptions(
  accessReview.command('show').description('a review: its population, decisions and sign-off').argument('<id>', 'review id (ar-…)'),
  needs.audit,
)
  .addOption(outputOption())
  .action(async (...args: Parameters<AccessReviewCommands['accessReviewShow']>) =>
    (await import('./accessReviewCommands.js')).accessReviewShow(...args),
  );
serverOptions(
  accessReview
    .command('decide')
    .description('keep or revoke one grant; revoke takes effect at once (key revoked, user disabled with their keys)')
    .argument('<id>', 'review id (ar-…)')
    .argument('<item>', 'item id: key:<id> or user:<name>')
    .argument('<decision>', 'keep or revoke'),
  needs.audit,
)
  .option('--comment <text>', 'why, for the evidence')
  .addOption(outputOption())
  .action(async (id: string, item: string, decision: string, ...rest: [Parameters<AccessReviewCommands['accessReviewDecide']>[3]]) => {
    if (decision !== 'keep' && decision !== 'revoke') throw new Error(`decision must be keep or revoke, not "${decision}"`);
    return (await import('./accessReviewCommands.js')).accessReviewDecide(id, item, decision, ...rest);
  });
serverOptions(
  accessReview
    .command('sign-off')
    .description('sign off a review whose every item is decided; meshlog signs the sign-off with its Ed25519 key')
    .argument('<id>', 'review id (ar-…)'),
  needs.audit,
)
  .option('--comment <text>', 'the reviewer’s conclusion, for the evidence')
  .addOption(outputOption())
  .action(async (...args: Parameters<AccessReviewCommands['accessReviewSignOff']>) =>
    (await import('./accessReviewCommands.js')).accessReviewSignOff(...args),
  );

serverOptions(program.command('audit').description('read the audit trail (auditor or admin)'), needs.audit)
  .option('--since <duration>', 'how far back, e.g. 24h or 7d', '24h')
  .option('--from <time>', 'period start (RFC3339 or Unix time); replaces --since')
  .option('--to <time>', 'period end (RFC3339 or Unix time; default now)')
  .option(
    '--population <name>',
    'export the whole population behind a report section: all, changes, grants_and_revocations, logins, failed_logins, access_denied, data_access, disposals, erasures, alerts, backups, availability',
  )
  .option('--action <prefix>', 'only actions starting with this, e.g. keys. or auth.')
  .option('--actor <id|name>', 'only this actor')
  .addOption(new Option('--outcome <outcome>').choices(['success', 'denied', 'failure']))
  .option('--limit <n>', 'most events', '1000')
  .addOption(new Option('--output <format>').choices(['table', 'json', 'csv', 'ndjson']).default('table'))
  .action(auditCommand);

const report = program.command('report').description('compliance evidence reports from a running server (auditor or admin)');
serverOptions(
  report
    .command('soc2')
    .description(
      'SOC 2 evidence: coverage, integrity, retention, access, data access, changes, transmission and encryption, redaction, monitoring, availability, capacity; signed',
    ),
  needs.audit,
)
  .requiredOption('--from <time>', 'start of the period: RFC3339, Unix time, or a duration ago (30d)')
  .option('--to <time>', 'end of the period (default now)')
  .option('--tenant <tenant>', 'only this tenant (default: every tenant, which needs a credential for *)')
  .addOption(
    new Option('--format <format>', 'bundle: every format of one generation with their signatures and the public key, in a ZIP')
      .choices(['html', 'pdf', 'json', 'csv', 'bundle'])
      .default('html'),
  )
  .option('--out <file>', 'write the report here (default: standard output)')
  .action(async (...args: Parameters<typeof import('./reportCommand.js').reportSoc2Command>) =>
    (await import('./reportCommand.js')).reportSoc2Command(...args),
  );
serverOptions(report.command('list').description('stored reports (the monthly schedule, reports.monthly)'), needs.auditAll)
  .addOption(new Option('--output <format>').choices(['table', 'json']).default('table'))
  .action(async (...args: Parameters<typeof import('./reportCommand.js').reportListCommand>) =>
    (await import('./reportCommand.js')).reportListCommand(...args),
  );
serverOptions(report.command('get').description('a stored report').argument('<id>', 'report id (from report list)'), needs.auditAll)
  .addOption(
    new Option('--format <format>', 'bundle: every format of one generation with their signatures and the public key, in a ZIP')
      .choices(['html', 'pdf', 'json', 'csv', 'bundle'])
      .default('html'),
  )
  .option('--out <file>', 'write the report here (default: standard output)')
  .action(async (...args: Parameters<typeof import('./reportCommand.js').reportGetCommand>) =>
    (await import('./reportCommand.js')).reportGetCommand(...args),
  );
report
  .command('verify')
  .description(
    'check a report’s Ed25519 signature offline (JSON: signed inside; HTML/PDF/CSV: the FILE.sig written beside it; a bundle: every file in it, against its signed manifest)',
  )
  .argument('<file>', 'report file (json, html, pdf, csv or a bundle zip)')
  .option('--public-key <file|key>', 'the server’s verifier key, e.g. <data_dir>-signing.key.pub (default: the key the report names)')
  .option('--signature <file>', 'detached signature of an HTML or PDF report (default: FILE.sig)')
  .action(async (...args: Parameters<typeof import('./reportVerifyCommand.js').reportVerifyCommand>) =>
    (await import('./reportVerifyCommand.js')).reportVerifyCommand(...args),
  );

const erasure = program
  .command('erasure')
  .description(
    'erasure requests (privacy P4.3): delete by tenant, stream selector and time range, with a receipt and a cancellation window (admin)',
  );
type ErasureCommands = typeof import('./erasureCommands.js');
serverOptions(erasure.command('request').description('file a request; it runs when the cancellation window (erasure.cancel_window) ends'))
  .requiredOption('--tenant <tenant>', 'tenant whose records are erased')
  .requiredOption('--selector <logql>', 'LogQL stream selector, e.g. {service_name="checkout"}')
  .requiredOption('--from <time>', 'start (inclusive): RFC3339, Unix time, or a duration ago (30d)')
  .option('--to <time>', 'end (inclusive; default now)')
  .requiredOption('--reason <text>', 'why, e.g. the data subject request reference')
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<ErasureCommands['erasureRequestCommand']>) =>
    (await import('./erasureCommands.js')).erasureRequestCommand(...args),
  );
serverOptions(erasure.command('list').description('every request with its state'), needs.audit)
  .addOption(new Option('--output <format>').choices(['table', 'json']).default('table'))
  .action(async (...args: Parameters<ErasureCommands['erasureListCommand']>) =>
    (await import('./erasureCommands.js')).erasureListCommand(...args),
  );
serverOptions(
  erasure.command('show').description('one request: its receipt and, once executed, its evidence').argument('<id>', 'request id'),
  needs.audit,
)
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<ErasureCommands['erasureShowCommand']>) =>
    (await import('./erasureCommands.js')).erasureShowCommand(...args),
  );
serverOptions(erasure.command('cancel').description('cancel a pending request').argument('<id>', 'request id'))
  .requiredOption('--reason <text>', 'why it is cancelled')
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<ErasureCommands['erasureCancelCommand']>) =>
    (await import('./erasureCommands.js')).erasureCancelCommand(...args),
  );
serverOptions(
  erasure.command('execute').description('run a pending request now, before its cancellation window ends').argument('<id>', 'request id'),
)
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<ErasureCommands['erasureExecuteCommand']>) =>
    (await import('./erasureCommands.js')).erasureExecuteCommand(...args),
  );

const archive = program.command('archive').description('encrypted, signed archives: export, verify offline, crypto-shred a data key');
type ArchiveCommands = typeof import('./archiveCommands.js');
serverOptions(
  archive.command('export').description("write a tenant's sealed batches as encrypted gzip NDJSON with a signed manifest (admin)"),
)
  .requiredOption('--tenant <tenant>', 'tenant to archive')
  .requiredOption('--from <time>', 'start: RFC3339, Unix time, or a duration ago (7d); from and to lie in one UTC month (one data key)')
  .option('--to <time>', 'end (default now)')
  .requiredOption('--out <dir>', 'new, empty directory for the archive')
  .action(async (...args: Parameters<ArchiveCommands['archiveExportCommand']>) =>
    (await import('./archiveCommands.js')).archiveExportCommand(...args),
  );
serverOptions(
  archive
    .command('upload')
    .description(
      'archive on the server and upload it to the configured S3-compatible bucket with Object Lock until the retention policy ends (admin, audited)',
    ),
)
  .requiredOption('--tenant <tenant>', 'tenant to archive')
  .requiredOption('--from <time>', 'start: RFC3339, Unix time, or a duration ago (7d); from and to lie in one UTC month (one data key)')
  .option('--to <time>', 'end (default now)')
  .action(async (...args: Parameters<ArchiveCommands['archiveUploadCommand']>) =>
    (await import('./archiveCommands.js')).archiveUploadCommand(...args),
  );
archive
  .command('verify')
  .description(
    'check an archive offline: manifest signature, payload hash, checkpoints, seals, inclusion proofs, and (decrypted) every record (exit 1 on findings, 2 if it cannot decrypt)',
  )
  .argument('<dir>', 'archive directory')
  .option('--public-key <file|key>', "pin the signer's verifier key (default: the key the manifest names)")
  .option('--key-ring <dir>', 'archive data keys (default with --data-dir: <data-dir>-archive-keys)')
  .option('--master-key <file>', 'archive master key (default with --data-dir: <data-dir>-archive.key; or MESHLOG_ARCHIVE_MASTER_KEY)')
  .option('--data-dir <dir>', "the server's data directory, to find the key ring and master key beside it")
  .option('--no-decrypt', 'check signatures, seals and proofs only')
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<ArchiveCommands['archiveVerifyCommand']>) => {
    try {
      await (await import('./archiveCommands.js')).archiveVerifyCommand(...args);
    } catch (error) {
      process.stderr.write(`meshlog archive verify: ${(error as Error).message}\n`);
      process.exit(2);
    }
  });
serverOptions(
  archive
    .command('shred')
    .description("destroy a tenant's data key of one month (crypto-shredding): its archives can never be decrypted again (admin, audited)"),
)
  .requiredOption('--tenant <tenant>', 'tenant')
  .requiredOption('--period <YYYY-MM>', 'UTC month of the data key')
  .requiredOption('--reason <text>', 'why, for the audit trail')
  .action(async (...args: Parameters<ArchiveCommands['archiveShredCommand']>) =>
    (await import('./archiveCommands.js')).archiveShredCommand(...args),
  );
serverOptions(archive.command('keys').description('archive data keys: created when, by whom, shredded when, by whom, why'), needs.auditAll)
  .addOption(new Option('--output <format>').choices(['table', 'json']).default('table'))
  .action(async (...args: Parameters<ArchiveCommands['archiveKeysCommand']>) =>
    (await import('./archiveCommands.js')).archiveKeysCommand(...args),
  );

type BackupCommands = typeof import('./backupCommands.js');
program
  .command('backup')
  .description(
    'copy a whole meshlog (every table, chains, checkpoints, evidence, key metadata): from a data directory no server runs on, or from a running server (--server)',
  )
  .option('--data-dir <dir>', 'data directory to back up (stop its server first)')
  .option('--out <dir>', 'new, empty backup directory (with --data-dir)')
  .option('--server <url>', 'back up this running server while it ingests (admin, audited); it writes the backup under its backup.dir')
  .option('--token <token>', `with --server: ${needs.adminAll}`)
  .option('--name <name>', 'with --server: directory name of the backup under backup.dir (default: the UTC time)')
  .option('--database <name>', 'ClickHouse database', 'meshlog')
  .option('--include-secrets', 'also copy the private checkpoint signing key and the admin token')
  .option(
    '--master-key <file>',
    'archive master key that wraps the backup key (default <data-dir>-archive.key, created if missing; or MESHLOG_ARCHIVE_MASTER_KEY)',
  )
  .option('--no-encrypt', 'write a plaintext backup')
  .action(async (...args: Parameters<BackupCommands['backupCommand']>) => (await import('./backupCommands.js')).backupCommand(...args));
program
  .command('restore')
  .description('restore a backup into a new data directory, then verify it (exit 1 on any finding)')
  .requiredOption('--from <dir>', 'backup directory')
  .requiredOption('--data-dir <dir>', 'new data directory')
  .option('--database <name>', 'ClickHouse database', 'meshlog')
  .option('--public-key <file|key>', "verify with this checkpoint verifier key instead of the backup's own")
  .option(
    '--ledger <file>',
    'deletion ledger to re-apply (default <backed-up data dir>-deletions.ndjson): erasures and disposals after the backup stay done',
  )
  .option('--no-ledger', 'restore without re-applying the deletion ledger (erased and disposed data taken after the backup comes back)')
  .option(
    '--master-key <file>',
    'archive master key of an encrypted backup (default <backed-up data dir>-archive.key; or MESHLOG_ARCHIVE_MASTER_KEY)',
  )
  .option('--report-to <url>', 'record the result as a restore test at this running (production) server: evidence in its SOC 2 report')
  .option('--token <token>', `with --report-to: ${needs.adminAll}`)
  .action(async (...args: Parameters<BackupCommands['restoreCommand']>) => (await import('./backupCommands.js')).restoreCommand(...args));

const ledger = program
  .command('ledger')
  .description(
    'deletion ledgers: every erasure and disposal a node ran, hash-chained and signed, kept beside its data dir and in a cluster',
  );
serverOptions(
  ledger
    .command('fetch')
    .description(
      "fetch a cluster node's replicated deletion ledger through any running node (e.g. after losing that node's disk), check it (every line there, hash chain, signatures) and write it for restore --ledger (exit 1 on any finding)",
    )
    .argument('<node>', 'the node id (cluster.node_id) whose ledger to fetch'),
  needs.adminAll,
)
  .option(
    '--public-key <file|key>',
    "the node's verifier key, or a file of keys one a line (default: the node's keys in the cluster's published set)",
  )
  .option('--against <file>', "a copy kept elsewhere (a backup's ledger): the fetched ledger must begin with its every line")
  .option('--out <file>', 'write the ledger here (a new file) once it checks')
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<typeof import('./ledgerCommands.js').ledgerFetchCommand>) => {
    try {
      await (await import('./ledgerCommands.js')).ledgerFetchCommand(...args);
    } catch (error) {
      process.stderr.write(`meshlog ledger fetch: ${(error as Error).message}\n`);
      process.exit(2);
    }
  });

const policy = program
  .command('policy')
  .description(
    "a tenant's logging policy as code (docs/policy.md): what must be logged, kept, masked and watched, and who may hold which roles",
  );
type PolicyCommands = typeof import('./policyCommands.js');
policy
  .command('check')
  .description('validate a policy file offline (for CI): exit 1 with each problem as file:line:column, exit 0 with a summary')
  .argument('<file>', 'policy YAML file')
  .action(async (...args: Parameters<PolicyCommands['policyCheckCommand']>) =>
    (await import('./policyCommands.js')).policyCheckCommand(...args),
  );
serverOptions(
  policy
    .command('apply')
    .description('check, then apply the file to the tenant it names: audited with the diff, signed, drift evaluated at once')
    .argument('<file>', 'policy YAML file'),
)
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<PolicyCommands['policyApplyCommand']>) =>
    (await import('./policyCommands.js')).policyApplyCommand(...args),
  );
serverOptions(policy.command('show').description('the policy in force now, or at a past time'), needs.audit)
  .requiredOption('--tenant <tenant>', 'tenant whose policy to show')
  .option('--at <time>', 'RFC3339, Unix time, or a duration ago (30d): the version in force then')
  .addOption(new Option('--output <format>').choices(['yaml', 'json']).default('yaml'))
  .action(async (...args: Parameters<PolicyCommands['policyShowCommand']>) =>
    (await import('./policyCommands.js')).policyShowCommand(...args),
  );
serverOptions(
  policy
    .command('drift')
    .description('open drift findings of the tenant: silent sources, segregation of duties, unretained streams, missing rules'),
  needs.audit,
)
  .requiredOption('--tenant <tenant>', 'tenant whose drift to show')
  .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'))
  .action(async (...args: Parameters<PolicyCommands['policyDriftCommand']>) =>
    (await import('./policyCommands.js')).policyDriftCommand(...args),
  );

const incident = program
  .command('incident')
  .description('incidents of a tenant (docs/incidents.md): open, note, change state, pin evidence, export a signed bundle');
type IncidentCommands = typeof import('./incidentCommands.js');
const analyst = 'a token with the analyst or admin role for the tenant (default: MESHLOG_TOKEN)';
const incidentOptions = (command: Command) =>
  serverOptions(command, analyst)
    .option('--tenant <tenant>', "the incident's tenant (X-Scope-OrgID; default the token's first)")
    .addOption(new Option('--output <format>').choices(['text', 'json']).default('text'));
incidentOptions(incident.command('open').description('open an incident by hand (audited)'))
  .requiredOption('--title <title>', 'what is happening')
  .addOption(new Option('--severity <severity>').choices(['critical', 'high', 'medium', 'low']).default('high'))
  .option('--owner <name>', 'who runs it (default: you)')
  .action(async (...args: Parameters<IncidentCommands['incidentOpenCommand']>) =>
    (await import('./incidentCommands.js')).incidentOpenCommand(...args),
  );
incidentOptions(incident.command('list').description("the tenant's incidents, newest first, with their response times"))
  .addOption(new Option('--state <state>').choices(['open', 'mitigated', 'resolved']))
  .action(async (...args: Parameters<IncidentCommands['incidentListCommand']>) =>
    (await import('./incidentCommands.js')).incidentListCommand(...args),
  );
incidentOptions(incident.command('show').description('an incident with its timeline').argument('<id>', 'incident id')).action(
  async (...args: Parameters<IncidentCommands['incidentShowCommand']>) =>
    (await import('./incidentCommands.js')).incidentShowCommand(...args),
);
incidentOptions(
  incident
    .command('note')
    .description('add a note to the timeline (audited)')
    .argument('<id>', 'incident id')
    .argument('<text>', 'the note'),
).action(async (...args: Parameters<IncidentCommands['incidentNoteCommand']>) =>
  (await import('./incidentCommands.js')).incidentNoteCommand(...args),
);
incidentOptions(
  incident
    .command('state')
    .description('move it to open, mitigated or resolved (audited)')
    .argument('<id>', 'incident id')
    .argument('<state>', 'open, mitigated or resolved'),
)
  .option('--reason <text>', 'why')
  .action(async (...args: Parameters<IncidentCommands['incidentStateCommand']>) =>
    (await import('./incidentCommands.js')).incidentStateCommand(...args),
  );
incidentOptions(
  incident
    .command('pin')
    .description('pin a line (held from retention), a query with its range, a trace or a pattern (audited)')
    .argument('<id>', 'incident id'),
)
  .option('--record <chain#seq#pos>', 'a stored line by its place in its chain')
  .option('--query <logql>', 'a LogQL query (with --from and --to)')
  .option('--from <time>', "the query's start: RFC3339 or Unix nanoseconds")
  .option('--to <time>', "the query's end")
  .option('--trace <id>', 'a trace id')
  .option('--pattern <template>', 'a pattern template (with --service)')
  .option('--service <name>', "the pattern's service")
  .option('--note <text>', 'why it matters')
  .action(async (...args: Parameters<IncidentCommands['incidentPinCommand']>) =>
    (await import('./incidentCommands.js')).incidentPinCommand(...args),
  );
serverOptions(
  incident
    .command('export')
    .description(
      'write the signed bundle (timeline, pinned records with inclusion proofs, queries, notes); meshlog report verify checks it offline',
    )
    .argument('<id>', 'incident id'),
  analyst,
)
  .option('--tenant <tenant>', "the incident's tenant")
  .requiredOption('--out <file>', 'bundle file to write (JSON)')
  .option('--review <file>', 'also write the post-incident review template (markdown) filled from the timeline')
  .action(async (...args: Parameters<IncidentCommands['incidentExportCommand']>) =>
    (await import('./incidentCommands.js')).incidentExportCommand(...args),
  );

program.parseAsync().catch((error: unknown) => {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if ((error as Error).message === 'fetch failed' && cause) {
    // fetch says only "fetch failed": name the server it could not reach and how to point at another.
    process.stderr.write(
      `meshlog: cannot reach the meshlog server (${cause.code ?? cause.message}): is it running? Pass --server URL or set MESHLOG_SERVER (default http://127.0.0.1:3100)\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`meshlog: ${(error as Error).message}\n`);
  process.exit(1);
});
