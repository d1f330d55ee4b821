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
