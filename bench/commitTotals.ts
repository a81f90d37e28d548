import type { RunningMeshlog } from '../test/support/meshlogProcess.js';

/** Records committed and group commits (storage inserts) so far, from a node's meshlog_batch_records histogram. */
export async function commitTotals(node: RunningMeshlog): Promise<{ records: number; commits: number }> {
  const text = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.token}` } })).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { records: value('meshlog_batch_records_sum'), commits: value('meshlog_batch_records_count') };
}
