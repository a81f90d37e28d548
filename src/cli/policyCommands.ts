import { readFileSync } from 'node:fs';
import { describeProblems, parsePolicy, type LoggingPolicy } from '../policy/policyFile.js';
import { callServer, type ServerFlags } from './serverClient.js';
import { nowNs, parseLokiDuration, parseLokiTime } from '../query/lokiParams.js';

type OutputFlags = ServerFlags & { output: string };

interface PolicyView {
  tenant: string;
  version: number;
  label: string;
  sha256: string;
  yaml: string;
  diff: string[];
  applied_at: string;
  applied_by: string;
  signature: { key: string; value: string };
}

interface DriftView {
  tenant: string;
  kind: string;
  subject: string;
  detail: string;
  at: string;
}

/** RFC 3339, Unix time, or a duration ago (7d); not verifyCommand's timeFlag, which would load the storage engine into `policy`. */
const timeOf = (value: string): bigint =>
  /^\d+(\.\d+)?[a-z]+$/i.test(value) ? nowNs() - parseLokiDuration(value, 'at') : parseLokiTime(value, 0n, 'at');

const print = (line: string): void => void process.stdout.write(`${line}\n`);

/** The file's policy, or its problems on stderr (each `file:line:column: key: message`) and exit status 1. */
function readPolicy(file: string): { text: string; policy: LoggingPolicy } | undefined {
  const text = readFileSync(file, 'utf8');
  const parsed = parsePolicy(text);
  if (parsed.ok) return { text, policy: parsed.policy };
  process.stderr.write(
    `${describeProblems(file, parsed.problems)}\n${file}: ${parsed.problems.length} problem${parsed.problems.length === 1 ? '' : 's'}; nothing applied\n`,
  );
  process.exitCode = 1;
  return undefined;
}

/** `meshlog policy check <file>`: offline, for the CI of the repository the policy lives in. */
export function policyCheckCommand(file: string): void {
  const read = readPolicy(file);
  if (!read) return;
  const { policy } = read;
  print(`${file}: valid logging policy for tenant ${policy.tenant}, version ${policy.version} (owner ${policy.owner})`);
  print(
    `  ${policy.required_sources.length} required sources, ${policy.retention.length} retention selectors, ${policy.redaction.rules.length} redaction rules and ${policy.redaction.masked_fields.length} masked fields required`,
  );
  print(
    `  ${policy.access.segregation_of_duties.length} segregation-of-duties rules, ${Object.keys(policy.access.max_holders).length} role limits, erasures by ${policy.access.erasure_people} ${policy.access.erasure_people === 1 ? 'person' : 'people'}; ${policy.alert_coverage.reduce((n, c) => n + c.rules.length, 0)} required alert rules`,
  );
}

function printDrift(drift: DriftView[]): void {
  if (drift.length === 0) return print('no drift');
  print(`${drift.length} drift finding${drift.length === 1 ? '' : 's'}:`);
  for (const finding of drift) print(`  ${finding.kind}\t${finding.subject}\t${finding.detail}`);
}

/** `meshlog policy apply <file>`: checked here first, then applied by the server for the tenant the file names. */
export async function policyApplyCommand(file: string, flags: OutputFlags): Promise<void> {
  const read = readPolicy(file);
  if (!read) return;
  const answer = await callServer<{ policy: PolicyView; drift: DriftView[] }>(flags, 'POST', '/api/v1/policy', { policy: read.text });
  if (flags.output === 'json') return print(JSON.stringify(answer, null, 2));
  const { policy } = answer;
  print(
    `applied policy ${policy.label} to tenant ${policy.tenant} as version ${policy.version} (sha256 ${policy.sha256}), signed by ${policy.signature.key}`,
  );
  print(
    policy.diff.length === 0 ? 'no change from the previous version' : `changes:\n${policy.diff.map((line) => `  ${line}`).join('\n')}`,
  );
  printDrift(answer.drift);
}

/** `meshlog policy show [--at]`: the policy in force now or at a past time. */
export async function policyShowCommand(flags: OutputFlags & { tenant: string; at?: string }): Promise<void> {
  const at = flags.at === undefined ? '' : `&at=${timeOf(flags.at)}`;
  const { policy } = await callServer<{ policy: PolicyView }>(
    flags,
    'GET',
    `/api/v1/policy?X-Scope-OrgID=${encodeURIComponent(flags.tenant)}${at}`,
  );
  if (flags.output === 'json') return print(JSON.stringify(policy, null, 2));
  print(
    `# tenant ${policy.tenant}, version ${policy.version} (${policy.label}), applied ${policy.applied_at} by ${policy.applied_by}, sha256 ${policy.sha256}`,
  );
  process.stdout.write(policy.yaml.endsWith('\n') ? policy.yaml : `${policy.yaml}\n`);
}

/** `meshlog policy drift`: the open findings of the tenant's policy. */
export async function policyDriftCommand(flags: OutputFlags & { tenant: string }): Promise<void> {
  const answer = await callServer<{ evaluated_at: string | null; open: DriftView[] }>(
    flags,
    'GET',
    `/api/v1/policy/drift?X-Scope-OrgID=${encodeURIComponent(flags.tenant)}`,
  );
  if (flags.output === 'json') return print(JSON.stringify(answer, null, 2));
  print(`evaluated ${answer.evaluated_at ?? 'not yet'}`);
  printDrift(answer.open);
}
