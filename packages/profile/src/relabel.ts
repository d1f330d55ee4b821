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
