import { hostname } from 'node:os';
import type { Profile } from 'pprof-format';
import { VERSION } from './version';

/** Tag names spanprof fills in itself (OpenTelemetry resource attribute names). */
export const TAG_SERVICE_NAME = 'service.name';
export const TAG_SERVICE_VERSION = 'service.version';
export const TAG_DEPLOYMENT_ENVIRONMENT = 'deployment.environment.name';
export const TAG_HOST_NAME = 'host.name';
export const TAG_PROCESS_PID = 'process.pid';
export const TAG_RUNTIME_NAME = 'process.runtime.name';
export const TAG_RUNTIME_VERSION = 'process.runtime.version';
export const TAG_PROFILER_VERSION = 'spanprof.version';

/** Tags every profile of this process carries unless overridden. */
export function processTags(): Record<string, string> {
  return {
    [TAG_HOST_NAME]: hostname(),
    [TAG_PROCESS_PID]: String(process.pid),
    [TAG_RUNTIME_NAME]: 'nodejs',
    [TAG_RUNTIME_VERSION]: process.versions.node,
    [TAG_PROFILER_VERSION]: VERSION,
  };
}

/**
 * Profile tags travel inside the pprof file as comments `spanprof:<key>=<value>`
 * (`go tool pprof -comments` lists them); the time range is pprof's own
 * `time_nanos` (start) and `duration_nanos`.
 */
const COMMENT_PREFIX = 'spanprof:';

/** Writes `tags` into the profile's comments (replacing earlier spanprof tags). */
export function writeProfileTags(profile: Profile, tags: Readonly<Record<string, string>>): void {
  const strings = profile.stringTable;
  const kept = profile.comment.filter((id) => !String(strings.strings[Number(id)] ?? '').startsWith(COMMENT_PREFIX));
  for (const [key, value] of Object.entries(tags)) {
    kept.push(strings.dedup(`${COMMENT_PREFIX}${key}=${value}`));
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

/**
 * Request counts of a period travel in the wall profile as one comment per
 * endpoint, `spanprof.requests:<count>:<endpoint>`: the count in decimal, then the
 * endpoint verbatim to the end of the string (it may hold `:`, `=` and spaces).
 * The prefix differs from the tags' `spanprof:`, so neither reader takes the
 * other's comments.
 */
const REQUESTS_PREFIX = 'spanprof.requests:';

/** Writes `counts` (requests by endpoint) into the profile's comments, replacing earlier ones. */
export function writeRequestCounts(profile: Profile, counts: Readonly<Record<string, number>>): void {
  const strings = profile.stringTable;
  const kept = profile.comment.filter((id) => !String(strings.strings[Number(id)] ?? '').startsWith(REQUESTS_PREFIX));
  for (const [endpoint, count] of Object.entries(counts)) {
    if (!Number.isSafeInteger(count) || count <= 0) continue;
    kept.push(strings.dedup(`${REQUESTS_PREFIX}${count}:${endpoint}`));
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
