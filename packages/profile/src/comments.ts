/**
 * Profile tags and request counts travel inside the pprof file as comment
 * strings (`go tool pprof -comments` lists them); the time range is pprof's own
 * `time_nanos` (start) and `duration_nanos`.
 */

/**
 * What the writers need of a profile: its comments (string-table indexes) and
 * its string table. pprof-format's `Profile` is one.
 */
export interface CommentedProfile {
  comment: (number | bigint)[];
  readonly stringTable: { readonly strings: readonly string[]; dedup(value: string): number };
}

/** Tags are comments `spanprof:<key>=<value>`. */
const COMMENT_PREFIX = 'spanprof:';

/**
 * Request counts of a period are one comment per endpoint,
 * `spanprof.requests:<count>:<endpoint>`: the count in decimal, then the
 * endpoint verbatim to the end of the string (it may hold `:`, `=` and spaces).
 * The prefix differs from the tags' `spanprof:`, so neither reader takes the
 * other's comments.
 */
const REQUESTS_PREFIX = 'spanprof.requests:';

/** Writes `tags` into the profile's comments (replacing earlier spanprof tags). */
export function writeProfileTags(profile: CommentedProfile, tags: Readonly<Record<string, string>>): void {
  const kept = withoutPrefix(profile, COMMENT_PREFIX);
  for (const [key, value] of Object.entries(tags)) {
    kept.push(profile.stringTable.dedup(`${COMMENT_PREFIX}${key}=${value}`));
  }
  profile.comment = kept;
}

/** Reads the tags `writeProfileTags` stored in a profile's comment strings. */
export function readProfileTags(comments: readonly string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const comment of comments) {
    if (!comment.startsWith(COMMENT_PREFIX)) continue;
    const eq = comment.indexOf('=', COMMENT_PREFIX.length);
    if (eq < 0) continue;
    tags[comment.slice(COMMENT_PREFIX.length, eq)] = comment.slice(eq + 1);
  }
  return tags;
}

/** Writes `counts` (requests by endpoint) into the profile's comments, replacing earlier ones. */
export function writeRequestCounts(profile: CommentedProfile, counts: Readonly<Record<string, number>>): void {
  const kept = withoutPrefix(profile, REQUESTS_PREFIX);
  for (const [endpoint, count] of Object.entries(counts)) {
    if (!Number.isSafeInteger(count) || count <= 0) continue;
    kept.push(profile.stringTable.dedup(`${REQUESTS_PREFIX}${count}:${endpoint}`));
  }
  profile.comment = kept;
}

/**
 * Reads the counts `writeRequestCounts` stored in a profile's comment strings:
 * requests by endpoint (an endpoint listed twice is summed); malformed comments
 * are skipped.
 */
export function readRequestCounts(comments: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const comment of comments) {
    if (!comment.startsWith(REQUESTS_PREFIX)) continue;
    const colon = comment.indexOf(':', REQUESTS_PREFIX.length);
    if (colon < 0) continue;
    const digits = comment.slice(REQUESTS_PREFIX.length, colon);
    if (!/^\d{1,15}$/.test(digits)) continue;
    const endpoint = comment.slice(colon + 1);
    counts.set(endpoint, (counts.get(endpoint) ?? 0) + Number(digits));
  }
  // fromEntries defines own properties: an endpoint named `__proto__` stays a count.
  return Object.fromEntries(counts);
}

/**
 * How long the requests of an endpoint took in a period: their number, the sum of their
 * durations, and how many fell in each duration bucket (see `durationBucket`), enough for a
 * mean and percentiles that add up across periods and processes.
 */
export interface RequestTimes {
  count: number;
  sumMillis: number;
  /** Bucket index → requests. */
  buckets: Map<number, number>;
}

/**
 * Duration buckets grow by 2^(1/8) (9%): bucket `i` holds durations from 2^(i/8) to 2^((i+1)/8)
 * microseconds, so a percentile read from them is within 5% of the true one. Bucket 0 also
 * holds every duration under a microsecond, the last (288: 2^36 µs, 19 hours) every longer one.
 */
export function durationBucket(millis: number): number {
  const micros = millis * 1000;
  return micros < 1 ? 0 : Math.min(288, Math.floor(Math.log2(micros) * 8));
}

/** A duration that stands for bucket `index`: its geometric middle, ms. */
export function bucketMillis(index: number): number {
  return 2 ** ((index + 0.5) / 8) / 1000;
}

/**
 * The `share` percentile (0.95: p95) of durations kept in buckets, ms; 0 when there are none.
 * Read from the buckets: within 5% of the exact figure.
 */
export function percentileMillis(buckets: ReadonlyMap<number, number>, share: number): number {
  let total = 0;
  for (const n of buckets.values()) total += n;
  if (total === 0) return 0;
  const rank = Math.ceil(share * total);
  let seen = 0;
  for (const index of [...buckets.keys()].sort((a, b) => a - b)) {
    seen += buckets.get(index) ?? 0;
    if (seen >= rank) return bucketMillis(index);
  }
  return 0;
}

/**
 * Request durations of a period are one comment per endpoint,
 * `spanprof.request_times:<sum ms>:<bucket>=<count>,...:<endpoint>`.
 */
const REQUEST_TIMES_PREFIX = 'spanprof.request_times:';

/** Writes request durations by endpoint into the profile's comments, replacing earlier ones. */
export function writeRequestTimes(profile: CommentedProfile, times: ReadonlyMap<string, RequestTimes>): void {
  const kept = withoutPrefix(profile, REQUEST_TIMES_PREFIX);
  for (const [endpoint, t] of times) {
    if (t.count <= 0) continue;
    const buckets = [...t.buckets].map(([index, n]) => `${index}=${n}`).join(',');
    kept.push(profile.stringTable.dedup(`${REQUEST_TIMES_PREFIX}${t.sumMillis.toFixed(3)}:${buckets}:${endpoint}`));
  }
  profile.comment = kept;
}

/** Reads the durations `writeRequestTimes` stored (an endpoint listed twice is summed); malformed comments are skipped. */
export function readRequestTimes(comments: readonly string[]): Map<string, RequestTimes> {
  const times = new Map<string, RequestTimes>();
  for (const comment of comments) {
    if (!comment.startsWith(REQUEST_TIMES_PREFIX)) continue;
    const sumEnd = comment.indexOf(':', REQUEST_TIMES_PREFIX.length);
    const bucketsEnd = sumEnd < 0 ? -1 : comment.indexOf(':', sumEnd + 1);
    if (bucketsEnd < 0) continue;
    const sumMillis = Number(comment.slice(REQUEST_TIMES_PREFIX.length, sumEnd));
    if (!Number.isFinite(sumMillis) || sumMillis < 0) continue;
    const buckets = new Map<number, number>();
    let count = 0;
    let valid = true;
    for (const entry of comment.slice(sumEnd + 1, bucketsEnd).split(',')) {
      const m = /^(\d{1,3})=(\d{1,15})$/.exec(entry);
      if (m === null) {
        valid = false;
        break;
      }
      buckets.set(Number(m[1]), (buckets.get(Number(m[1])) ?? 0) + Number(m[2]));
      count += Number(m[2]);
    }
    if (!valid) continue;
    const endpoint = comment.slice(bucketsEnd + 1);
    const into = times.get(endpoint);
    if (into === undefined) times.set(endpoint, { count, sumMillis, buckets });
    else addRequestTimes(into, { count, sumMillis, buckets });
  }
  return times;
}

/** Adds `more` into `into`. */
export function addRequestTimes(into: RequestTimes, more: RequestTimes): void {
  into.count += more.count;
  into.sumMillis += more.sumMillis;
  for (const [index, n] of more.buckets) into.buckets.set(index, (into.buckets.get(index) ?? 0) + n);
}

/** The profile's comments, without those starting with `prefix`. */
function withoutPrefix(profile: CommentedProfile, prefix: string): (number | bigint)[] {
  const strings = profile.stringTable.strings;
  return profile.comment.filter((id) => !String(strings[Number(id)] ?? '').startsWith(prefix));
}
