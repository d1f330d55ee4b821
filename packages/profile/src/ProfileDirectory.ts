import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EVENTS_KIND, PROFILE_FILE_SUFFIX, WALL_KIND } from './schema';
import { indexEvents } from './EventIndex';
import type { IndexedEvents } from './EventIndex';
import { readProfileFile } from './readProfileFile';
import { FrameTable, indexProfile } from './ProfileIndex';
import type { IndexedProfile } from './ProfileIndex';

export interface ProfileFilter {
  /** Every tag must match exactly. */
  tags?: Readonly<Record<string, string>>;
  /** Keep profiles whose period overlaps [from, to] (epoch ms). */
  from?: number;
  to?: number;
}

export class ProfileDirectoryError extends Error {}

/** What a refresh of the directory found. */
export interface RefreshResult {
  added: number;
  removed: number;
  /**
   * Files that could not be read this time, with the reason: malformed, not a regular file, or
   * over one of the `PROFILE_LIMITS` (see `readProfileFile`).
   */
  skipped: { file: string; reason: string }[];
}

const WALL_SUFFIX = `.${WALL_KIND}${PROFILE_FILE_SUFFIX}`;
const EVENTS_SUFFIX = `.${EVENTS_KIND}${PROFILE_FILE_SUFFIX}`;

function eventsFileOf(wallFile: string): string {
  return wallFile.slice(0, -WALL_SUFFIX.length) + EVENTS_SUFFIX;
}

/**
 * The wall profiles of a directory written by spanprof's `FileExporter`, kept
 * indexed: `refresh()` reads the files that appeared since the last call and
 * forgets the ones that were deleted (the exporter prunes old files).
 */
export class ProfileDirectory {
  private table = new FrameTable();
  /** Samples of the profiles forgotten since the frame table was last rebuilt. */
  private forgottenSamples = 0;
  private readonly byFile = new Map<string, IndexedProfile>();
  /** Files that failed to decode, with their size then, so they are retried only when they change. */
  private readonly failed = new Map<string, { size: number; reason: string }>();
  /** Wall profiles whose events profile was empty, or unreadable (with the reason): not read again. */
  private readonly eventless = new Map<string, string | undefined>();
  private sorted: IndexedProfile[] | undefined;

  constructor(readonly directory: string) {}

  /** Every indexed profile, oldest first. */
  get profiles(): readonly IndexedProfile[] {
    this.sorted ??= [...this.byFile.values()].sort((a, b) => a.start - b.start || (a.file < b.file ? -1 : 1));
    return this.sorted;
  }

  /**
   * The frames and stacks of the indexed profiles. A new table replaces it
   * once the profiles forgotten since the last one had more samples than the
   * ones kept, so that a viewer left running over a directory the exporter
   * prunes holds at most about twice the frames its profiles need.
   */
  get frames(): FrameTable {
    return this.table;
  }

  /** Profile files in the directory (readable or not) as of the last refresh. */
  get total(): number {
    return this.byFile.size + this.failed.size;
  }

  refresh(): RefreshResult {
    let names: string[];
    try {
      if (!statSync(this.directory).isDirectory()) throw new ProfileDirectoryError(`${this.directory} is not a directory`);
      names = readdirSync(this.directory);
    } catch (err) {
      if (err instanceof ProfileDirectoryError) throw err;
      throw new ProfileDirectoryError(`cannot read profile directory ${this.directory}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const present = new Set(names.filter((n) => n.endsWith(WALL_SUFFIX)).map((n) => join(this.directory, n)));
    const withEvents = new Set(
      names.filter((n) => n.endsWith(EVENTS_SUFFIX)).map((n) => join(this.directory, n.slice(0, -EVENTS_SUFFIX.length) + WALL_SUFFIX)),
    );
    const result: RefreshResult = { added: 0, removed: 0, skipped: [] };
    for (const [file, profile] of this.byFile) {
      if (!present.has(file)) {
        this.byFile.delete(file);
        this.forgottenSamples += profile.size;
        result.removed++;
      }
    }
    if (result.removed > 0) {
      let kept = 0;
      for (const p of this.byFile.values()) kept += p.size;
      if (this.forgottenSamples > kept) this.rebuildFrameTable();
    }
    for (const file of this.failed.keys()) if (!present.has(file)) this.failed.delete(file);
    for (const file of this.eventless.keys()) if (!present.has(file)) this.eventless.delete(file);
    for (const file of [...present].sort()) {
      const indexed = this.byFile.get(file);
      if (indexed !== undefined) {
        // An events profile written after its wall profile was read.
        if (indexed.spans.size === 0 && indexed.events.length === 0 && withEvents.has(file) && !this.eventless.has(file)) {
          const events = this.readEventsOf(file);
          if (events !== undefined) this.byFile.set(file, { ...indexed, spans: events.spans, events: events.others });
          result.added++;
        }
        continue;
      }
      const failure = this.failed.get(file);
      let size: number;
      try {
        size = lstatSync(file).size;
      } catch (err) {
        // Deleted between readdir and lstat: it will not be listed next time.
        result.skipped.push({ file, reason: (err as NodeJS.ErrnoException).code ?? String(err) });
        continue;
      }
      // A file that failed is read again only once its size changed.
      if (failure !== undefined && size === failure.size) {
        result.skipped.push({ file, reason: failure.reason });
        continue;
      }
      try {
        const profile = readProfileFile(file);
        const events = withEvents.has(file) ? this.readEventsOf(file) : undefined;
        this.byFile.set(file, indexProfile(file, profile, this.table, events));
        this.failed.delete(file);
        result.added++;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.failed.set(file, { size, reason });
        result.skipped.push({ file, reason });
      }
    }
    for (const [file, reason] of this.eventless) if (reason !== undefined && withEvents.has(file)) result.skipped.push({ file: eventsFileOf(file), reason });
    if (result.added > 0 || result.removed > 0) this.sorted = undefined;
    return result;
  }

  /**
   * The events profile beside the wall profile `file`; none (and not read again, but listed in
   * every refresh's `skipped`) when it cannot be read: the wall profile's views work without it.
   */
  private readEventsOf(wallFile: string): IndexedEvents | undefined {
    try {
      const events = indexEvents(readProfileFile(eventsFileOf(wallFile)));
      if (events.spans.size === 0 && events.others.length === 0) this.eventless.set(wallFile, undefined);
      return events;
    } catch (err) {
      this.eventless.set(wallFile, err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }

  /** Moves the indexed profiles to a new frame table holding only their own frames and stacks. */
  private rebuildFrameTable(): void {
    const old = this.table;
    const table = new FrameTable();
    const frameIds = new Map<number, number>();
    const stackIds = new Map<number, number>();
    const ids: number[] = [];
    for (const [file, p] of this.byFile) {
      const stack = new Int32Array(p.size);
      for (let i = 0; i < p.size; i++) {
        let id = stackIds.get(p.stack[i]);
        if (id === undefined) {
          ids.length = 0;
          for (const f of old.stacks[p.stack[i]]) {
            let frameId = frameIds.get(f);
            if (frameId === undefined) {
              const frame = old.frames[f];
              frameId = table.frameId(frame.name, frame.file, frame.line);
              frameIds.set(f, frameId);
            }
            ids.push(frameId);
          }
          id = table.stackId(ids);
          stackIds.set(p.stack[i], id);
        }
        stack[i] = id;
      }
      this.byFile.set(file, { ...p, frames: table, stack });
    }
    this.table = table;
    this.forgottenSamples = 0;
  }
}

/** The profiles that pass `filter`. */
export function selectProfiles(profiles: readonly IndexedProfile[], filter: ProfileFilter = {}): IndexedProfile[] {
  const tagEntries = Object.entries(filter.tags ?? {});
  return profiles.filter(
    (p) =>
      tagEntries.every(([k, v]) => p.tags[k] === v) && (filter.from === undefined || p.end >= filter.from) && (filter.to === undefined || p.start <= filter.to),
  );
}

export interface LoadResult {
  profiles: IndexedProfile[];
  /** Files that could not be read, with the reason (as `RefreshResult.skipped`). */
  skipped: { file: string; reason: string }[];
  /** Profile files found before filtering. */
  total: number;
}

/** Reads every wall profile of `dir` that passes `filter`; unreadable files are skipped, not fatal. */
export function loadProfiles(dir: string, filter: ProfileFilter = {}): LoadResult {
  const directory = new ProfileDirectory(dir);
  const { skipped } = directory.refresh();
  return { profiles: selectProfiles(directory.profiles, filter), skipped, total: directory.total };
}
