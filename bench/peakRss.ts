import { readFileSync } from 'node:fs';

/** The most memory a running process has held resident so far (VmHWM), in MiB, from /proc. */
export function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}
