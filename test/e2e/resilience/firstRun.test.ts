import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { roles } from '../../../src/security/identity.js';
import { startupSummary } from '../../../src/server/startupSummary.js';
import { configSchema } from '../../../src/config/schema.js';
import { startMeshlog, tempDataDir } from '../../support/meshlogProcess.js';
import { waitFor } from '../../support/waitFor.js';
import { otlpJsonRequest, postOtlpJson } from '../../support/otlpJson.js';

const cli = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** The environment of a person who has set nothing up yet. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('MESHLOG_') || key.startsWith('NODE_TEST')) delete env[key];
  return { ...env, ...extra };
}

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * The command line `script` hands to $SHELL. `exec` makes the command itself the terminal's foreground
 * process whatever that shell is: a dash left waiting in between dies of Ctrl-C (exit 130) before
 * meshlog has stopped, which is what CI, whose $SHELL is not bash, saw.
 */
const ptyCommand = (args: string[]) => `exec ${args.map(shellQuote).join(' ')}`;

/** Runs a command in a pseudo-terminal (util-linux `script`): stdout and stderr are a TTY, as for a person. */
function inPty(args: string[], env: NodeJS.ProcessEnv, timeout = 120_000) {
  return spawnSync('script', ['-qfec', ptyCommand(args), '/dev/null'], {
    env: { ...env, COLUMNS: '200', TERM: 'xterm' },
    encoding: 'utf8',
    timeout,
  });
}

const run = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 120_000 });

/** The README's first-steps block: the shell block that defines the meshlog alias. */
function firstStepsBlock(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]).find((body) => body.startsWith('alias meshlog='));
  assert.ok(block, 'README.md has a first-steps block starting with alias meshlog=');
  return block;
}

/** The block's commands, a `\`-continued command as one; comment lines stay with the command after them. */
function commandsOf(block: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of block.split('\n')) {
    current += `${line}\n`;
    if (line.trimStart().startsWith('#') || line.trim() === '' || line.endsWith('\\')) continue;
    commands.push(current);
    current = '';
  }
  return commands;
}

test('the README first-steps block runs exactly as written on a fresh data dir, one coherent story (key for acme, log sent with it, read with the other key)', async () => {
  const block = firstStepsBlock();
  const commands = commandsOf(block);
  // The block itself, unchanged; between its commands only markers that tell the steps apart.
  const steps = commands
    .map((command, i) => `printf '\\n@@step ${i}@@\\n'; printf '\\n@@step ${i}@@\\n' >&2\n${command}printf '\\n@@rc ${i} %s@@\\n' "$?"\n`)
    .join('');
  const work = mkdtempSync(join(tmpdir(), 'meshlog-first-run-'));
  // A fresh clone's layout: dist/ (after the build) beside the data directory `npm start` creates.
  symlinkSync(join(repo, 'dist'), join(work, 'dist'));
  writeFileSync(join(work, 'steps.sh'), steps);
  // The block names 127.0.0.1:3100 as written: it runs in a network namespace of its own, where that
  // port is free whatever else runs on this machine. The server is `npm start` (node dist/src/cli/main.js start).
  const driver = `set -u
ip link set lo up
cd ${shellQuote(work)}
node dist/src/cli/main.js start > server.out 2>&1 &
server=$!
for i in $(seq 1 2400); do curl -sf -o /dev/null http://127.0.0.1:3100/ready && break; sleep 0.1; done
# a person pastes into an interactive shell, where aliases expand
bash -O expand_aliases steps.sh > steps.out 2> steps.err
kill -TERM $server; wait $server; echo "server exit $?" >> server.out
`;
  const child = spawn('unshare', ['--net', 'bash', '-c', driver], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let driverOutput = '';
  child.stdout.on('data', (chunk: Buffer) => (driverOutput += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (driverOutput += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const server = readFileSync(join(work, 'server.out'), 'utf8');
  assert.equal(code, 0, `${driverOutput}\n${server}`);
  const split = (text: string) => {
    const parts: string[] = [];
    for (const [, index, body] of text.matchAll(/@@step (\d+)@@\n([\s\S]*?)(?=\n@@step \d+@@|$)/g)) parts[Number(index)] = body;
    return parts;
  };
  const stdout = readFileSync(join(work, 'steps.out'), 'utf8');
  const stderr = readFileSync(join(work, 'steps.err'), 'utf8');
  const out = split(stdout);
  const err = split(stderr);
  const context = `\nstdout:\n${stdout}\nstderr:\n${stderr}\nserver:\n${server}`;
  const rcs = [...stdout.matchAll(/@@rc (\d+) (\d+)@@/g)].map(([, index, rc]) => [Number(index), Number(rc)]);
  assert.equal(rcs.length, commands.length, `every step ran${context}`);
  for (const [index, rc] of rcs) assert.equal(rc, 0, `step ${index} (${commands[index].trim()}) exits 0${context}`);

  const step = (pattern: RegExp) => commands.findIndex((command) => pattern.test(command));
  assert.match(err[step(/SHIPPER_KEY=/)], /created key \S+ \(fluent-bit prod: ingester on acme\)/, context);
  assert.match(err[step(/ONCALL_KEY=/)], /created key \S+ \(on-call: analyst on acme\)/, context);
  const push = step(/^curl /m);
  assert.doesNotMatch(out[push], /error|forbidden|denied/i, `the push with the shipper key is taken${context}`);
  // Read back with the on-call key, which holds tenant acme only: the line went where the story says.
  const query = step(/meshlog query/);
  assert.match(commands[query], /ONCALL_KEY/);
  assert.match(out[query], /\{[^}]*service_name="cart"[^}]*\}\thello\n/, context);
  assert.match(out[step(/meshlog verify/)], /^OK — \d+ chain\(s\)/m, context);
  const audit = out[step(/meshlog audit/)];
  assert.match(audit, /keys\.create/, context);
  assert.match(audit, /on-call/, context);
  // The token is never printed by the server; its logs stay JSON when stdout is not a terminal.
  const token = readFileSync(join(work, 'data', 'admin-token'), 'utf8').trim();
  assert.ok(!server.includes(token), 'the admin token never appears in the server output');
  assert.ok(
    server.split('\n').some((line) => line.startsWith('{') && JSON.parse(line).msg === 'meshlog is ready'),
    `JSON logs when stdout is not a TTY${context}`,
  );
  assert.doesNotMatch(server, /is ready\n\s+Web UI/, 'no human summary when stdout is not a TTY');
  assert.match(server, /server exit 0/);
});

test('on a terminal, meshlog start says where the web UI, each protocol port (TLS or not), the admin token file and the data dir are, never the token', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'meshlog-summary-'));
  const dataDir = join(parent, 'data');
  const args = [
    process.execPath,
    cli,
    'start',
    '--data-dir',
    dataDir,
    '--http-port',
    '0',
    '--forward-port',
    '0',
    '--syslog-port',
    '0',
    '--otlp-grpc-port',
    '0',
  ];
  const child = spawn('script', ['-qfec', ptyCommand(args), '/dev/null'], {
    env: cleanEnv({ COLUMNS: '200', SHELL: '/bin/sh' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  // Wait for the summary itself, however long a busy machine takes. The line ends in \r\n on a terminal,
  // which `.` does not match: the wait used to run out its 60 s every time and fail once in CI.
  await waitFor(() => /Data dir [^\n]*\n/.test(output), { what: 'the start-up summary', timeoutMs: 240_000, intervalMs: 100 }).catch(
    (error: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${error.message}; the terminal showed:\n${output.replace(/\r/g, '')}`);
    },
  );
  // Ctrl-C at the terminal: SIGINT to the server, which stops gracefully.
  child.stdin.write('\x03');
  const code = await exited;
  const text = output.replace(/\r/g, '');
  assert.match(text, /meshlog 0\.1\.0 is ready\n/, text);
  const http = /HTTP APIs\s+(http:\/\/127\.0\.0\.1:\d+)\s+plaintext\s+Loki push\/query, OTLP\/HTTP/.exec(text);
  assert.ok(http, text);
  assert.match(text, new RegExp(`Web UI\\s+${http[1].replace(/\./g, '\\.')}/`));
  assert.match(text, /Fluentd forward\s+127\.0\.0\.1:\d+ TCP\s+plaintext/);
  assert.match(text, /syslog\s+127\.0\.0\.1:\d+ TCP\s+plaintext/);
  assert.match(text, /syslog\s+127\.0\.0\.1:\d+ UDP\s+plaintext/);
  assert.match(text, /OTLP\/gRPC\s+127\.0\.0\.1:\d+ TCP\s+plaintext/);
  assert.match(text, new RegExp(`Admin token\\s+${join(dataDir, 'admin-token')}\\s+\\(generated now, mode 0600, not printed\\)`));
  assert.match(text, new RegExp(`Data dir\\s+${dataDir}\\s+\\(embedded ClickHouse\\)`));
  // Pretty self-logs on a terminal, not JSON lines.
  assert.match(text, /\d\d:\d\d:\d\d INFO  admin token loaded/);
  assert.doesNotMatch(text, /^\{"level"/m);
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  assert.ok(!text.includes(token), 'the token itself is never shown');
  assert.equal(code, 0, `Ctrl-C stops meshlog with exit 0, not ${code}; the terminal showed:\n${text.split('\n').slice(-15).join('\n')}`);
});

test('the start-up summary says a token from MESHLOG_ADMIN_TOKEN came from there, TLS where it is configured, and --auth=none loudly', () => {
  const config = configSchema.parse({
    data_dir: '/srv/meshlog',
    tls: { cert_file: 'c', key_file: 'k' },
    otlp_grpc: { tls: { cert_file: 'c', key_file: 'k' } },
  });
  const text = startupSummary(config, {
    httpUrl: 'https://127.0.0.1:3100',
    listeners: { otlp_grpc: '127.0.0.1:4317' },
    adminToken: { fromEnv: true },
    embedded: false,
  });
  assert.match(text, /HTTP APIs\s+https:\/\/127\.0\.0\.1:3100\s+TLS/);
  assert.match(text, /OTLP\/gRPC\s+127\.0\.0\.1:4317 TCP\s+TLS/);
  assert.match(text, /Admin token\s+from MESHLOG_ADMIN_TOKEN \(not printed\)/);
  assert.match(text, /Data dir\s+\/srv\/meshlog\s+\(ClickHouse server/);
  const open = startupSummary(configSchema.parse({ auth: 'none' }), { httpUrl: 'http://127.0.0.1:3100', listeners: {}, embedded: true });
  assert.match(open, /Auth\s+NONE \(--auth=none\): anyone who can reach these ports/);
});

/** A TCP port held by someone else, and a UDP one. */
async function occupied(): Promise<{ tcp: number; udp: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    tcp: (server.address() as net.AddressInfo).port,
    udp: socket.address().port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

test('a port already in use: exit 2 with one line naming the flag and key that move it, and nothing created on disk', async () => {
  const busy = await occupied();
  try {
    const free = ['--forward-port', '0', '--syslog-port', '0', '--otlp-grpc-port', '0'];
    const cases: [string[], RegExp][] = [
      [
        ['--http-port', String(busy.tcp), ...free],
        new RegExp(
          `HTTP API and web UI port 127\\.0\\.0\\.1:${busy.tcp} \\(TCP\\) is already in use: move it with --http-port, http_port or MESHLOG_HTTP_PORT`,
        ),
      ],
      [
        ['--http-port', '0', '--syslog-port', '0', '--otlp-grpc-port', '0', '--forward-port', String(busy.tcp)],
        /Fluentd forward port .* is already in use: move it with --forward-port, forward\.port or MESHLOG_FORWARD_PORT/,
      ],
      [
        ['--http-port', '0', '--forward-port', '0', '--otlp-grpc-port', '0', '--syslog-port', String(busy.udp)],
        /syslog UDP port .* \(UDP\) is already in use: move it with --syslog-port, syslog\.udp_port/,
      ],
      [
        ['--http-port', '0', '--forward-port', '0', '--syslog-port', '0', '--otlp-grpc-port', String(busy.tcp)],
        /OTLP\/gRPC port .* is already in use: move it with --otlp-grpc-port, otlp_grpc\.port/,
      ],
    ];
    for (const [args, message] of cases) {
      const parent = mkdtempSync(join(tmpdir(), 'meshlog-port-'));
      const result = run(['start', '--data-dir', join(parent, 'data'), ...args], cleanEnv());
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\bat .*\.js:\d+/, 'no stack trace');
      assert.deepEqual(readdirSync(parent), [], 'no data dir, admin token, signing key or storage key was created');
    }
  } finally {
    await busy.close();
  }
});

test('CLI hints: a missing token names MESHLOG_TOKEN and --token; --role lists every role; --token says what each command needs; table rows survive multi-line bodies', async () => {
  const meshlog = await startMeshlog();
  try {
    const env = cleanEnv({ MESHLOG_SERVER: meshlog.url });
    const missing = run(['keys', 'list'], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /server answered 401/);
    assert.match(missing.stderr, /set MESHLOG_TOKEN or pass --token/);
    const wrong = run(['keys', 'list', '--token', 'not-a-real-token-000'], env);
    assert.match(wrong.stderr, /the token \(--token or MESHLOG_TOKEN\) was refused/);
    const noQueryToken = run(['query', '{service_name="x"}'], env);
    assert.match(noQueryToken.stderr, /set MESHLOG_TOKEN or pass --token/);
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = run(['keys', 'list', '--server', `http://127.0.0.1:${closedPort}`], env);
    assert.match(unreachable.stderr, /cannot reach the meshlog server \(ECONNREFUSED\).*--server URL or set MESHLOG_SERVER/);

    const help = (args: string[]) => run([...args, '--help'], env).stdout.replace(/\s+/g, ' ');
    for (const command of [
      ['keys', 'create'],
      ['users', 'create'],
    ]) {
      const text = help(command);
      for (const role of roles)
        assert.match(text, new RegExp(`--role <role> .*\\b${role}\\b`), `${command.join(' ')} --role lists ${role}`);
    }
    assert.match(help(['query']), /--token <token> a token with the analyst or admin role/);
    assert.match(help(['keys', 'list']), /--token <token> a token with the admin role/);
    assert.match(help(['audit']), /--token <token> a token with the auditor or admin role/);
    assert.match(help(['verify']), /--token <token> a token with the auditor or admin role/);
    assert.match(help(['agent']), /--token <token> a token with the ingester or admin role/);
    assert.doesNotMatch(
      run(['--help'], env).stdout + help(['keys', 'create']) + help(['audit']) + help(['report', 'soc2']),
      /admin \(or auditor\) token/,
    );

    const posted = await postOtlpJson(meshlog.url, meshlog.token, otlpJsonRequest('multi', ['first line\nsecond\tline\r\n\u001b[31mred']));
    assert.equal(posted.status, 200);
    const table = run(['query', '{service_name="multi"}', '--token', meshlog.token], env);
    assert.equal(table.status, 0, table.stderr);
    const rows = table.stdout.trimEnd().split('\n');
    assert.equal(rows.length, 1, `one row per entry: ${table.stdout}`);
    assert.match(rows[0], /\tfirst line\\nsecond\\tline\\r\\n\\u001b\[31mred$/);
    const raw = run(['query', '{service_name="multi"}', '--token', meshlog.token, '--output', 'raw'], env);
    assert.equal(raw.stdout, 'first line\nsecond\tline\r\n\u001b[31mred\n', 'raw output keeps the body as it is');
  } finally {
    await meshlog.stop();
  }
});

test('long operations show progress and a final summary on a terminal (stderr) and stay quiet otherwise: verify, backup, report', async () => {
  const meshlog = await startMeshlog({ dataDir: tempDataDir() });
  const env = cleanEnv({ MESHLOG_SERVER: meshlog.url, MESHLOG_TOKEN: meshlog.token });
  let stopped = false;
  try {
    const posted = await postOtlpJson(
      meshlog.url,
      meshlog.token,
      otlpJsonRequest(
        'progress',
        Array.from({ length: 200 }, (_, i) => `line ${i}`),
      ),
    );
    assert.equal(posted.status, 200);
    const out = join(tempDataDir('meshlog-report-'), 'report.json');
    const report = inPty([process.execPath, cli, 'report', 'soc2', '--from', '1h', '--format', 'json', '--out', out], env);
    assert.equal(report.status, 0, report.stdout);
    assert.match(report.stdout, /\r\x1b\[K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] report \(json\): the server is gathering evidence and signing \(\d+\.\d s\)/);
    assert.match(report.stdout, /✔ report \(json\): \d+ KiB to .*report\.json \(\d+\.\d s\)\r?\n/);
    const quietReport = run(['report', 'soc2', '--from', '1h', '--format', 'json', '--out', `${out}.2`], env);
    assert.equal(quietReport.status, 0, quietReport.stderr);
    assert.doesNotMatch(quietReport.stderr, /✔|⠋|\x1b\[K/, 'no progress when stderr is not a terminal');

    assert.equal(await meshlog.stop(), 0);
    stopped = true;
    const verify = inPty([process.execPath, cli, 'verify', '--data-dir', meshlog.dataDir], env);
    assert.equal(verify.status, 0, verify.stdout);
    assert.match(verify.stdout, /\r\x1b\[K⠋ verify \(/);
    assert.match(verify.stdout, /verify: chain \S+: \d+\/\d+ batches, \d+ records/);
    assert.match(verify.stdout, /✔ verify: OK: \d+ chain\(s\), \d+ batches, \d+ records \(\d+\.\d s\)/);
    assert.match(verify.stdout, /^OK — /m, 'the result on stdout is unchanged');
    const quietVerify = run(['verify', '--data-dir', meshlog.dataDir], env);
    assert.equal(quietVerify.status, 0, quietVerify.stderr);
    assert.equal(quietVerify.stderr, '', 'verify piped: nothing on stderr');
    assert.match(quietVerify.stdout, /^OK — /);

    const backupDir = join(tempDataDir('meshlog-backup-'), 'b');
    const backup = inPty([process.execPath, cli, 'backup', '--data-dir', meshlog.dataDir, '--out', backupDir, '--no-encrypt'], env);
    assert.equal(backup.status, 0, backup.stdout);
    assert.match(backup.stdout, /\r\x1b\[K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] backup .*: logs: \d+ rows/);
    assert.match(backup.stdout, /✔ backup .*: \d+ tables, \d+ rows in /);
    assert.ok(existsSync(join(backupDir, 'manifest.json')) || readdirSync(backupDir).length > 0);
  } finally {
    if (!stopped) await meshlog.stop();
  }
});
