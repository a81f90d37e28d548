#!/usr/bin/env node
import { Command, Option } from 'commander';
import { startCommand } from './startCommand.js';

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
  .option('--max-body-bytes <size>', 'largest accepted request body, e.g. 16MiB')
  .action(startCommand);

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`meshlog: ${(error as Error).message}\n`);
  process.exit(1);
});
