import type * as Protobuf from 'protobufjs';

/**
 * Reads pprof `Profile` messages for the views. protobufjs's generated decoder
 * over a schema of only the fields the views use (field numbers from pprof's
 * profile.proto) reads about six times as fast as pprof-format's decoder, which
 * matters when the viewer opens an hour of profiles; fields not listed (mappings,
 * drop_frames, ...) are skipped unread.
 */
const schema = {
  nested: {
    Profile: {
      fields: {
        sampleType: { rule: 'repeated', type: 'ValueType', id: 1 },
        sample: { rule: 'repeated', type: 'Sample', id: 2 },
        location: { rule: 'repeated', type: 'Location', id: 4 },
        function: { rule: 'repeated', type: 'Function', id: 5 },
        stringTable: { rule: 'repeated', type: 'string', id: 6 },
        timeNanos: { type: 'int64', id: 9 },
        durationNanos: { type: 'int64', id: 10 },
        comment: { rule: 'repeated', type: 'int64', id: 13 },
      },
    },
    ValueType: { fields: { type: { type: 'int64', id: 1 }, unit: { type: 'int64', id: 2 } } },
    Sample: {
      fields: {
        locationId: { rule: 'repeated', type: 'uint64', id: 1 },
        value: { rule: 'repeated', type: 'int64', id: 2 },
        label: { rule: 'repeated', type: 'Label', id: 3 },
      },
    },
    Label: { fields: { key: { type: 'int64', id: 1 }, str: { type: 'int64', id: 2 }, num: { type: 'int64', id: 3 } } },
    Location: { fields: { id: { type: 'uint64', id: 1 }, line: { rule: 'repeated', type: 'Line', id: 4 } } },
    Line: { fields: { functionId: { type: 'uint64', id: 1 }, line: { type: 'int64', id: 2 } } },
    Function: { fields: { id: { type: 'uint64', id: 1 }, name: { type: 'int64', id: 2 }, filename: { type: 'int64', id: 4 } } },
  },
};

let profileType: Protobuf.Type | undefined;

/** A 64-bit field: a number, a bigint (pprof-format), or a Long (protobufjs with `long` installed). */
export type Int64 = number | bigint | { toNumber(): number };

/**
 * A pprof profile as the views read it: the message `decodePprof` returns, or
 * a pprof-format `Profile` (what the profiler collects), whose string table is
 * an object holding `strings`.
 */
export interface PprofMessage {
  sampleType: readonly { type?: Int64; unit?: Int64 }[];
  sample: readonly { locationId: readonly Int64[]; value: readonly Int64[]; label: readonly { key?: Int64; str?: Int64; num?: Int64 }[] }[];
  location: readonly { id?: Int64; line: readonly { functionId?: Int64; line?: Int64 }[] }[];
  function: readonly { id?: Int64; name?: Int64; filename?: Int64 }[];
  stringTable: readonly string[] | { readonly strings: readonly string[] };
  timeNanos?: Int64;
  durationNanos?: Int64;
  comment: readonly Int64[];
}

/** A 64-bit field as a number (exact up to 2^53: IDs, indices, nanoseconds of a profile). */
export function num(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return v.toNumber();
}

/** The string table of a profile of either form. */
export function stringsOf(profile: PprofMessage): readonly string[] {
  const table = profile.stringTable;
  return isStringArray(table) ? table : table.strings;
}

function isStringArray(table: PprofMessage['stringTable']): table is readonly string[] {
  return Array.isArray(table);
}

/** Nanoseconds per unit of a time sample type; 1 for units that are not times (count, bytes). */
export function nanosPerUnit(unit: string): number {
  switch (unit) {
    case 'seconds':
      return 1e9;
    case 'milliseconds':
      return 1e6;
    case 'microseconds':
      return 1e3;
    default:
      return 1;
  }
}

/** The sum of each sample type over all samples (a heap profile's bytes and objects in use), by type name. */
export function sampleTotals(profile: PprofMessage): Map<string, number> {
  const strings = stringsOf(profile);
  const totals = new Map<string, number>();
  profile.sampleType.forEach((t, index) => {
    let sum = 0;
    for (const sample of profile.sample) sum += num(sample.value[index]);
    totals.set(strings[num(t.type)] ?? '', sum);
  });
  return totals;
}

/** Decodes an uncompressed pprof message; throws on malformed input. */
export function decodePprof(bytes: Uint8Array): PprofMessage {
  // Loaded on first use: the profiler (core) uses this package's model but never decodes, and
  // protobufjs is 46 modules and about 1 MiB of heap it would otherwise carry.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  profileType ??= (require('protobufjs') as typeof Protobuf).Root.fromJSON(schema).lookupType('Profile');
  return profileType.decode(bytes) as unknown as PprofMessage;
}
