import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningMeshlog } from './meshlogProcess.js';

export type Protocol = 'loki' | 'otlp';

/** One request's lines and the HTTP request that carries them, built once so that every retry sends the same bytes. */
interface Batch {
  lines: string[];
  path: string;
  contentType: string;
  body: string;
}

function lokiBatch(job: string, lines: string[], withIds: boolean): Batch {
  const firstNs = BigInt(Date.now()) * 1_000_000n;
  const values = lines.map((line, i) => [String(firstNs + BigInt(i)), line, ...(withIds ? [{ log_record_uid: `uid-${line}` }] : [])]);
  return {
    lines,
    path: '/loki/api/v1/push',
    contentType: 'application/json',
    body: JSON.stringify({ streams: [{ stream: { service_name: job }, values }] }),
  };
}

function otlpBatch(job: string, lines: string[], withIds: boolean): Batch {
  const firstNs = BigInt(Date.now()) * 1_000_000n;
  const logRecords = lines.map((line, i) => ({
    timeUnixNano: String(firstNs + BigInt(i)),
    body: { stringValue: line },
    severityNumber: 9,
    attributes: withIds ? [{ key: 'log.record.uid', value: { stringValue: `uid-${line}` } }] : [],
  }));
  return {
    lines,
    path: '/v1/logs',
    contentType: 'application/json',
    body: JSON.stringify({
      resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: job } }] }, scopeLogs: [{ logRecords }] }],
    }),
  };
}

export interface SenderSpec {
  name: string;
  protocol: Protocol;
  withIds: boolean;
  /** Index of the node tried first; the others are tried in turn after a refusal or failure. */
  home: number;
}

/** What a sender saw: lines acknowledged (2xx), every line it ever sent, answers that no retry could help. */
export interface SenderTally {
  acknowledged: string[];
  attempted: Set<string>;
  retries: number;
  /** 4xx other than 429: a defect (a valid request refused), never retried. */
  rejected: string[];
}

/**
 * A sender that behaves as the meshlog agent does: a batch refused (429, 5xx)
 * or failed (connection reset, node gone) is sent again, the same bytes, to
 * the next node, until one answers 2xx; only then are its lines counted as
 * acknowledged. Starts new batches while `control.sending`; stops retrying
 * only when `control.abandon` (a failed test must not leave it sending).
 */
export async function runFailoverSender(
  spec: SenderSpec,
  nodes: () => RunningMeshlog[],
  tenant: string,
  job: string,
  control: { sending: boolean; abandon: boolean },
  tally: SenderTally,
  batchSize = 20,
  pauseMs = 250,
): Promise<void> {
  for (let batchNo = 0; control.sending; batchNo++) {
    const lines = Array.from({ length: batchSize }, (_, i) => `${spec.name} b${batchNo} r${i}`);
    const batch = spec.protocol === 'loki' ? lokiBatch(job, lines, spec.withIds) : otlpBatch(job, lines, spec.withIds);
    for (const line of lines) tally.attempted.add(line);
    for (let attempt = 0; !control.abandon; attempt++) {
      const targets = nodes();
      const node = targets[(spec.home + attempt) % targets.length];
      let status = 0;
      let text = '';
      try {
        const response = await fetch(`${node.url}${batch.path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${node.token}`, 'content-type': batch.contentType, 'x-scope-orgid': tenant },
          body: batch.body,
          // A request to a node killed mid-answer fails with a reset; this bounds one that hangs instead.
          signal: AbortSignal.timeout(60_000),
        });
        status = response.status;
        text = await response.text();
      } catch {
        status = 0;
      }
      if (status >= 200 && status < 300) {
        tally.acknowledged.push(...lines);
        // Bounds the load (on a busy 2-core machine an unpaced sender outruns the writers' catch-up); nothing is timed.
        await sleep(pauseMs);
        break;
      }
      if (status >= 400 && status < 500 && status !== 429) {
        tally.rejected.push(`${status} from ${node.url}: ${text}`);
        break;
      }
      tally.retries++;
      // The agent's back-off: a refused node is not hammered.
      await sleep(Math.min(50 * 2 ** attempt, 1000));
    }
  }
}
