import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readProfileTags } from './comments';
import { num, stringsOf } from './decode';
import type { Int64, PprofMessage } from './decode';
import { functionKey, functionName, normalizeFile, UNKNOWN_FUNCTION } from './functions';
import { readProfileFile } from './readProfileFile';
import { PROFILE_FILE_SUFFIX } from './schema';

/** The tag of a heap profile written at out of memory. */
export const TAG_OOM = 'spanprof.oom';

const HEAP_SUFFIX = `.heap${PROFILE_FILE_SUFFIX}`;

/** One heap profile file: in use at one instant (a snapshot, so two are never added up). */
export interface HeapProfileFile {
  readonly file: string;
  readonly tags: Readonly<Record<string, string>>;
  /** When it was taken, epoch milliseconds. */
  readonly time: number;
  readonly profile: PprofMessage;
}

/**
 * The newest heap profile of `dir` whose tags all match `tags` (a heap profile is a snapshot:
 * the newest one says what is held now; `{ 'spanprof.oom': 'true' }` finds the one written at
 * out of memory). Unreadable files (see `readProfileFile`) are skipped and listed.
 */
export function newestHeapProfile(
  dir: string,
  tags: Readonly<Record<string, string>> = {},
): { found?: HeapProfileFile; skipped: { file: string; reason: string }[] } {
  const skipped: { file: string; reason: string }[] = [];
  // spanprof's names start with a sortable timestamp: the newest is last.
  const names = readdirSync(dir)
    .filter((n) => n.endsWith(HEAP_SUFFIX))
    .sort()
    .reverse();
  for (const name of names) {
    const file = join(dir, name);
    try {
      const profile = readProfileFile(file);
      const strings = stringsOf(profile);
      const profileTags = readProfileTags(profile.comment.map((id) => strings[num(id)] ?? ''));
      if (!Object.entries(tags).every(([k, v]) => profileTags[k] === v)) continue;
      return { found: { file, tags: profileTags, time: Math.round(num(profile.timeNanos) / 1e6), profile }, skipped };
    } catch (err) {
      skipped.push({ file, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return { skipped };
}

/** Bytes and objects in use. */
export interface HeapCost {
  bytes: number;
  objects: number;
}

/** A function's memory in use: allocated in it (self), and in it or what it called (total). */
export interface HeapFunction {
  name: string;
  file: string;
  line: number;
  self: HeapCost;
  total: HeapCost;
}

/** The functions holding the most memory in a heap profile, by the same function key as every view (name and path). */
export function heapHotspots(profile: PprofMessage): { total: HeapCost; functions: HeapFunction[] } {
  const strings = stringsOf(profile);
  const str = (id: Int64 | undefined): string => strings[num(id)] ?? '';
  const types = profile.sampleType.map((t) => str(t.type));
  const bytesAt = types.indexOf('inuse_space');
  const objectsAt = types.indexOf('inuse_objects');
  const functions = new Map<number, { name: string; file: string }>();
  for (const f of profile.function) functions.set(num(f.id), { name: functionName(str(f.name)), file: normalizeFile(str(f.filename)) });
  const frameOf = new Map<number, { name: string; file: string; line: number }>();
  for (const loc of profile.location) {
    const line = loc.line[0];
    const fn = line === undefined ? undefined : functions.get(num(line.functionId));
    frameOf.set(num(loc.id), { name: fn?.name ?? UNKNOWN_FUNCTION, file: fn?.file ?? '', line: line === undefined ? 0 : num(line.line) });
  }
  const byKey = new Map<string, HeapFunction>();
  const total: HeapCost = { bytes: 0, objects: 0 };
  for (const sample of profile.sample) {
    const bytes = bytesAt < 0 ? 0 : num(sample.value[bytesAt]);
    const objects = objectsAt < 0 ? 0 : num(sample.value[objectsAt]);
    total.bytes += bytes;
    total.objects += objects;
    const seen = new Set<string>();
    sample.locationId.forEach((id, depth) => {
      const frame = frameOf.get(num(id)) ?? { name: UNKNOWN_FUNCTION, file: '', line: 0 };
      const key = functionKey(frame.name, frame.file);
      let fn = byKey.get(key);
      if (fn === undefined)
        byKey.set(key, (fn = { name: frame.name, file: frame.file, line: frame.line, self: { bytes: 0, objects: 0 }, total: { bytes: 0, objects: 0 } }));
      if (frame.line > 0 && (fn.line === 0 || frame.line < fn.line)) fn.line = frame.line;
      if (depth === 0) {
        fn.self.bytes += bytes;
        fn.self.objects += objects;
      }
      if (!seen.has(key)) {
        seen.add(key);
        fn.total.bytes += bytes;
        fn.total.objects += objects;
      }
    });
  }
  const list = [...byKey.values()].sort((a, b) => b.self.bytes - a.self.bytes || b.total.bytes - a.total.bytes);
  return { total, functions: list };
}
