/** Longest inputs (lines × lines) diffed line by line; beyond, the change is shown as the whole file replaced. */
const maxCells = 4_000_000;

/**
 * The lines that differ between two versions of a policy, as `-<line>: text`
 * (old line number) and `+<line>: text` (new line number), in file order: what
 * a reviewer reads in the change event.
 */
export function lineDiff(before: string, after: string): string[] {
  const a = before === '' ? [] : before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > maxCells) return [...a.map((line, i) => `-${i + 1}: ${line}`), ...b.map((line, i) => `+${i + 1}: ${line}`)];
  // Longest common subsequence table, filled from the ends.
  const common: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--)
      common[i]![j] = a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || common[i]![j + 1]! > common[i + 1]![j]!)) {
      out.push(`+${j + 1}: ${b[j]}`);
      j++;
    } else {
      out.push(`-${i + 1}: ${a[i]}`);
      i++;
    }
  }
  return out;
}
