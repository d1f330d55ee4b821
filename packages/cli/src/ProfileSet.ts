import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { PROFILE_FILE_SUFFIX, readProfileTags } from '@spanprof/core';

/** A wall profile read from disk, with what filters need. */
export interface LoadedProfile {
  readonly file: string;
  readonly profile: Profile;
  readonly tags: Readonly<Record<string, string>>;
  /** Start and end of the profile's period, epoch milliseconds. */
  readonly start: number;
  readonly end: number;
}

export interface ProfileFilter {
  /** Every tag must match exactly. */
  tags?: Readonly<Record<string, string>>;
  /** Keep profiles whose period overlaps [from, to] (epoch ms). */
  from?: number;
  to?: number;
}

export interface LoadResult {
  profiles: LoadedProfile[];
  /** Files that could not be read, with the reason. */
  skipped: { file: string; reason: string }[];
  /** Profile files found before filtering. */
  total: number;
}

export class ProfileDirectoryError extends Error {}

function decodeFile(file: string): Profile {
  const bytes = readFileSync(file);
  return Profile.decode(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
}

/** Reads every wall profile of `dir` that passes `filter`; unreadable files are skipped, not fatal. */
export function loadProfiles(dir: string, filter: ProfileFilter = {}, kind = 'wall'): LoadResult {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ProfileDirectoryError(`${dir} is not a directory`);
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof ProfileDirectoryError) throw err;
    throw new ProfileDirectoryError(`cannot read profile directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const files = names.filter((n) => n.endsWith(`.${kind}${PROFILE_FILE_SUFFIX}`)).sort();
  const result: LoadResult = { profiles: [], skipped: [], total: files.length };
  for (const name of files) {
    const file = join(dir, name);
    let profile: Profile;
    try {
      profile = decodeFile(file);
    } catch (err) {
      result.skipped.push({ file, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    const strings = profile.stringTable.strings;
    const tags = readProfileTags(profile.comment.map((id) => strings[Number(id)] ?? ''));
    const start = Number(BigInt(profile.timeNanos) / 1_000_000n);
    const end = start + Number(BigInt(profile.durationNanos) / 1_000_000n);
    if (filter.tags !== undefined && Object.entries(filter.tags).some(([k, v]) => tags[k] !== v)) continue;
    if (filter.from !== undefined && end < filter.from) continue;
    if (filter.to !== undefined && start > filter.to) continue;
    result.profiles.push({ file, profile, tags, start, end });
  }
  return result;
}
