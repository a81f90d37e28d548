import { callServer, type ServerFlags } from './serverClient.js';
import { timeFlag } from './verifyCommand.js';

interface ErasureView {
  id: string;
  tenant: string;
  selector: string;
  from: string;
  to: string;
  reason: string;
  requested_by: string;
  requested_at: string;
  execute_after: string;
  status: string;
  closed_by: string;
  closed_at: string | null;
  cancel_reason: string;
  /** spans and patterns: absent in evidence of requests executed before those were erased too. */
  evidence: { records: number; batches: number; held: number; spans?: number; patterns?: number; executed_at: string } | null;
}

type OutputFlags = ServerFlags & { output: string };

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const nsToIso = (ns: bigint) => {
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  return `${iso.slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
};

function printRequest(request: ErasureView, output: string): void {
  if (output === 'json') return print(JSON.stringify(request, null, 2));
  print(`erasure request ${request.id}: ${request.status}`);
  print(`  scope     tenant ${request.tenant}, ${request.selector}, ${request.from} .. ${request.to}`);
  print(`  requested by ${request.requested_by} at ${request.requested_at}: ${request.reason}`);
  if (request.status === 'pending')
    print(`  runs at   ${request.execute_after} unless cancelled (meshlog erasure cancel ${request.id} --reason …)`);
  if (request.status === 'cancelled') print(`  cancelled by ${request.closed_by} at ${request.closed_at}: ${request.cancel_reason}`);
  if (request.evidence) {
    print(
      `  executed  at ${request.evidence.executed_at} by ${request.closed_by}: ${request.evidence.records} records erased from ${request.evidence.batches} batches` +
        (request.evidence.spans !== undefined
          ? `, ${request.evidence.spans} spans, ${request.evidence.patterns ?? 0} mined templates`
          : '') +
        (request.evidence.held > 0 ? `, ${request.evidence.held} kept under legal hold` : ''),
    );
  }
}

/** `meshlog erasure request`: files a request and prints its receipt. */
export async function erasureRequestCommand(
  flags: OutputFlags & { tenant: string; selector: string; from: string; to?: string; reason: string },
): Promise<void> {
  const fromNs = timeFlag(flags.from, 'from')!;
  const toNs = timeFlag(flags.to ?? '0s', 'to')!;
  const { request } = await callServer<{ request: ErasureView }>(flags, 'POST', '/api/v1/admin/erasure-requests', {
    tenant: flags.tenant,
    selector: flags.selector,
    from: nsToIso(fromNs),
    to: nsToIso(toNs),
    reason: flags.reason,
  });
  printRequest(request, flags.output);
}

export async function erasureListCommand(flags: OutputFlags): Promise<void> {
  const { requests } = await callServer<{ requests: ErasureView[] }>(flags, 'GET', '/api/v1/admin/erasure-requests');
  if (flags.output === 'json') return print(JSON.stringify(requests, null, 2));
  print(['ID', 'STATUS', 'TENANT', 'SELECTOR', 'FROM', 'TO', 'REQUESTED BY', 'RUNS AT', 'ERASED'].join('\t'));
  for (const r of requests) {
    print(
      [
        r.id,
        r.status,
        r.tenant,
        r.selector,
        r.from,
        r.to,
        r.requested_by,
        r.status === 'pending' ? r.execute_after : '-',
        r.evidence ? String(r.evidence.records) : '-',
      ].join('\t'),
    );
  }
}

export async function erasureShowCommand(id: string, flags: OutputFlags): Promise<void> {
  printRequest(
    (await callServer<{ request: ErasureView }>(flags, 'GET', `/api/v1/admin/erasure-requests/${encodeURIComponent(id)}`)).request,
    flags.output,
  );
}

export async function erasureCancelCommand(id: string, flags: OutputFlags & { reason: string }): Promise<void> {
  const { request } = await callServer<{ request: ErasureView }>(
    flags,
    'POST',
    `/api/v1/admin/erasure-requests/${encodeURIComponent(id)}/cancel`,
    { reason: flags.reason },
  );
  printRequest(request, flags.output);
}

export async function erasureExecuteCommand(id: string, flags: OutputFlags): Promise<void> {
  const { request } = await callServer<{ request: ErasureView }>(
    flags,
    'POST',
    `/api/v1/admin/erasure-requests/${encodeURIComponent(id)}/execute`,
  );
  printRequest(request, flags.output);
}
