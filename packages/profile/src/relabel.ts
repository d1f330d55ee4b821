import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Label, Profile, Sample, StringTable } from 'pprof-format';

const gzip = promisify(gzipCallback);

/** A sample's labels by name: strings as strings, numeric labels as bigint. */
export type LabelValues = Record<string, string | bigint>;

/**
 * A copy of `profile` whose samples carry the labels `map` returns for each
 * sample's labels; the input profile (shared by every exporter of a batch) is
 * left untouched. String values become string labels, bigint values numeric ones.
 */
export function relabelProfile(profile: Profile, map: (labels: LabelValues) => LabelValues): Profile {
  const strings = new StringTable();
  for (const s of profile.stringTable.strings.slice(1)) strings.dedup(s);
  const source = profile.stringTable.strings;
  const sample = profile.sample.map((s) => {
    const labels: LabelValues = {};
    for (const l of s.label) {
      const key = source[Number(l.key)] ?? '';
      labels[key] = Number(l.str) !== 0 ? (source[Number(l.str)] ?? '') : BigInt(l.num);
    }
    const label = Object.entries(map(labels)).map(([key, value]) =>
      typeof value === 'bigint' ? new Label({ key: strings.dedup(key), num: value }) : new Label({ key: strings.dedup(key), str: strings.dedup(value) }),
    );
    return new Sample({ locationId: s.locationId, value: s.value, label });
  });
  return new Profile({ ...profile, sample, stringTable: strings });
}

/** A profile as a gzipped pprof message. */
export async function encodeGzipped(profile: Profile): Promise<Uint8Array> {
  return gzip(profile.encode());
}

/**
 * Adds the string labels `labels` to every sample of `profile`, in place, but to the samples
 * whose leaf frame is a function named in `exceptLeafFunctions`. For labels that hold for a
 * whole profile (the thread it was taken on), written once at collection.
 */
export function addSampleLabels(profile: Profile, labels: Readonly<Record<string, string>>, exceptLeafFunctions: readonly string[] = []): void {
  const added = Object.entries(labels).map(([key, value]) => new Label({ key: profile.stringTable.dedup(key), str: profile.stringTable.dedup(value) }));
  if (added.length === 0) return;
  const exceptNames = new Set(exceptLeafFunctions);
  const exceptFunctions = new Set<number>();
  for (const fn of profile.function) {
    if (exceptNames.has(profile.stringTable.strings[Number(fn.name)] ?? '')) exceptFunctions.add(Number(fn.id));
  }
  const exceptLocations = new Set<number>();
  if (exceptFunctions.size > 0) {
    for (const location of profile.location) {
      if (location.line.some((line) => exceptFunctions.has(Number(line.functionId)))) exceptLocations.add(Number(location.id));
    }
  }
  const last = added[added.length - 1];
  for (const sample of profile.sample) {
    const leaf = sample.locationId[0];
    if (leaf !== undefined && exceptLocations.has(Number(leaf))) continue;
    // In place, no copy per sample. The heap serializer shares one label array between the
    // samples of a node: an array that already ends with these labels has them.
    const labels = sample.label;
    if (labels[labels.length - 1] !== last) labels.push(...added);
  }
}
