/**
 * The last of `sorted` (in order of `startOf`, none overlapping) that starts at or before `at`;
 * undefined when none does. A binary search: collection asks once per sample.
 */
export function lastStartingBy<T, K extends number | bigint>(sorted: readonly T[], at: K, startOf: (item: T) => K): T | undefined {
  let lo = 0;
  let hi = sorted.length - 1;
  if (hi < 0 || startOf(sorted[0]) > at) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (startOf(sorted[mid]) <= at) lo = mid;
    else hi = mid - 1;
  }
  return sorted[lo];
}
