import type { RunningMeshlog } from './meshlogProcess.js';

/** meshlog_records_committed_total of one receiver, read from the server's /metrics. */
export async function committedCount(meshlog: RunningMeshlog, receiver: string): Promise<number> {
  const response = await fetch(`${meshlog.url}/metrics`, { headers: { authorization: `Bearer ${meshlog.token}` } });
  const match = new RegExp(`^meshlog_records_committed_total\\{receiver="${receiver}"\\} (\\d+)$`, 'm').exec(await response.text());
  return match ? Number(match[1]) : 0;
}

/**
 * Waits until a receiver has committed at least `count` records: for senders
 * that give no acknowledgement (syslog, rsyslog), the server's own counter is
 * the only signal that the data arrived. The test timeout bounds the wait.
 */
export async function waitForCommitted(meshlog: RunningMeshlog, receiver: string, count: number): Promise<void> {
  while ((await committedCount(meshlog, receiver)) < count) await new Promise((resolve) => setTimeout(resolve, 50));
}
