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

/** The profile's comments, without those starting with `prefix`. */
function withoutPrefix(profile: CommentedProfile, prefix: string): (number | bigint)[] {
  const strings = profile.stringTable.strings;
  return profile.comment.filter((id) => !String(strings[Number(id)] ?? '').startsWith(prefix));
}
