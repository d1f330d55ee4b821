import { getHeapStatistics } from 'node:v8';
import type * as Protobuf from 'protobufjs';
import { num } from './decode';
import type { Int64 } from './decode';

/**
 * What one profile file may cost to read. A profile file is data from outside (a directory anyone
 * on the host may write to, a file sent by someone else): `readProfileFile` refuses a file over any
 * of these bounds before it builds anything per sample, so that a small crafted file cannot take
 * the memory or the time of the `spanprof` command or the viewer. Each bound is far above what
 * spanprof writes: a wall profile of a minute of a service at 1000 requests/s holds about 60,000
 * samples (about 60 bytes each gzipped, 150 decompressed, 32 objects decoded).
 */
export interface ProfileLimits {
  /** Bytes of the file on disk. Default 128 MiB. */
  readonly fileBytes: number;
  /** Bytes the file decompresses to. Default 256 MiB. */
  readonly decodedBytes: number;
  /**
   * Decompressed bytes per byte of the file, once past `inflateFloorBytes` (spanprof's profiles
   * decompress 2 to 4 times; a gzip bomb a thousand times). Default 100.
   */
  readonly inflateRatio: number;
  /** Decompressed bytes allowed whatever the ratio (small files of few, repeated samples). Default 8 MiB. */
  readonly inflateFloorBytes: number;
  /**
   * Samples. Default 1,000,000, or fewer where the heap limit is under 4 GiB: one per 4 KiB of it
   * (one of spanprof's costs 2.5 to 4 KB at peak to decode and index, in the CLI and the viewer).
   */
  readonly samples: number;
  /** Labels of one sample. Default 64 (spanprof writes at most about 20). */
  readonly labelsPerSample: number;
  /** Distinct label names (each custom one is a column as long as the samples). Default 128. */
  readonly labelNames: number;
  /** Locations. Default 1,000,000. */
  readonly locations: number;
  /** Functions. Default 1,000,000. */
  readonly functions: number;
  /** Entries of the string table. Default 4,000,000. */
  readonly strings: number;
  /**
   * Objects the decoder makes, in all: the messages (samples, labels, locations, lines, functions,
   * sample types), the 64-bit numbers in them and in the samples (location IDs, values), the
   * strings and comments. Default 40,000,000 (about 2.5 GB at peak), or fewer where the heap limit
   * is under 4 GiB: one per 100 bytes of it. A wall profile of spanprof makes about 32 per sample.
   */
  readonly objects: number;
}

const MiB = 1024 * 1024;
/** This process's heap limit (Node.js sets it from the machine's memory, or `--max-old-space-size`). */
const HEAP_LIMIT = getHeapStatistics().heap_size_limit;

/** The bounds `readProfileFile` applies by default. */
export const PROFILE_LIMITS: ProfileLimits = Object.freeze({
  fileBytes: 128 * MiB,
  decodedBytes: 256 * MiB,
  inflateRatio: 100,
  inflateFloorBytes: 8 * MiB,
  samples: Math.min(1_000_000, Math.floor(HEAP_LIMIT / 4096)),
  labelsPerSample: 64,
  labelNames: 128,
  locations: 1_000_000,
  functions: 1_000_000,
  strings: 4_000_000,
  objects: Math.min(40_000_000, Math.floor(HEAP_LIMIT / 100)),
});

/** A profile file refused: not a regular file, malformed, or over one of the `ProfileLimits`. */
export class ProfileFileError extends Error {}

/** What `scanPprof` counted in a pprof message. */
export interface PprofCounts {
  samples: number;
  locations: number;
  functions: number;
  strings: number;
  /** Distinct label keys (string-table indices). */
  labelNames: number;
  /** The most labels of one sample. */
  labelsPerSample: number;
  objects: number;
}

// Wire types (protobuf encoding).
const VARINT = 0;
const LEN = 2;

let readerType: typeof Protobuf.Reader | undefined;

/** protobufjs's reader (the one `decodePprof` decodes with), loaded on first use as there. */
function readerOf(bytes: Uint8Array): Protobuf.Reader {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  readerType ??= (require('protobufjs') as typeof Protobuf).Reader;
  return readerType.create(bytes);
}

function malformed(at: number, what: string): ProfileFileError {
  return new ProfileFileError(`malformed profile: ${what} at byte ${at}`);
}

/**
 * Runs `scan` with the reader bounded to `end`, the end of the message being read: the decoder
 * does not check that a nested value stays inside its message, so one that does not is refused.
 */
function within<T>(r: Protobuf.Reader, end: number, scan: () => T): T {
  const len = r.len;
  if (end > len) throw malformed(r.pos, 'value past the end of its message');
  r.len = end;
  try {
    return scan();
  } finally {
    r.len = len;
  }
}

/** The fields of one message as (field, wire type, start of its value) to `visit`, each value skipped after; bounded to `end`. */
function fields(r: Protobuf.Reader, end: number, visit: (field: number, wireType: number, at: number) => void): void {
  within(r, end, () => {
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.uint32();
      visit(tag >>> 3, tag & 7, at);
    }
  });
}

/** A length-delimited value's end, the reader at its start. */
function lengthEnd(r: Protobuf.Reader): number {
  const length = r.uint32();
  return r.pos + length;
}

/** Varints in a packed repeated field from the reader's position to `end` (one ending inside a varint is refused); the reader then at `end`. */
function packedCount(r: Protobuf.Reader, end: number): number {
  if (end > r.len) throw malformed(r.pos, 'value past the end of its message');
  if (r.pos < end && r.buf[end - 1] >= 0x80) throw malformed(end, 'packed field ending inside a varint');
  let n = 0;
  for (let i = r.pos; i < end; i++) if (r.buf[i] < 0x80) n++;
  r.pos = end;
  return n;
}

/** Throws unless `wireType` is `expected`, profile.proto's for `field`, which the decoder assumes. */
function expect(at: number, message: string, field: number, wireType: number, ...expected: number[]): void {
  if (!expected.includes(wireType)) throw malformed(at, `${message} field ${field} of wire type ${wireType}`);
}

/** Field numbers of profile.proto's messages that the views' decoder reads as 64-bit numbers, each an object once decoded. */
const LABEL_FIELDS = [1, 2, 3]; // key, str, num
const FUNCTION_FIELDS = [1, 2, 4]; // id, name, filename
const LINE_FIELDS = [1, 2]; // function_id, line
const VALUE_TYPE_FIELDS = [1, 2]; // type, unit
const LOCATION_FIELDS = [1]; // id (and its lines, field 4)

/**
 * The objects the decoder makes for the message of 64-bit numbers that ends at `end`: itself and
 * each of `numbers` (varints). With `lines`, field 4 holds Line messages (a Location). `onKey`
 * gets field 1's value (a label's key).
 */
function scalars(r: Protobuf.Reader, end: number, message: string, numbers: readonly number[], lines = false, onKey?: (key: number) => void): number {
  let objects = 1;
  fields(r, end, (field, wireType, at) => {
    if (lines && field === 4) {
      expect(at, message, field, wireType, LEN);
      objects += scalars(r, lengthEnd(r), 'line', LINE_FIELDS);
    } else if (numbers.includes(field)) {
      expect(at, message, field, wireType, VARINT);
      if (field === 1 && onKey !== undefined) {
        // As the decoder reads it, and the views then use it.
        onKey(num(r.uint64() as unknown as Int64));
      } else r.skip();
      objects++;
    } else r.skipType(wireType);
  });
  return objects;
}

/**
 * Counts what decoding the pprof `Profile` message `bytes` would build (samples, locations,
 * functions, strings, labels, and every object of them), reading only its wire format with the
 * decoder's own reader: nothing is built per sample, so a message of millions of empty samples
 * costs no more than its bytes. Throws `ProfileFileError` at the first bound of `limits` passed,
 * naming it, or if a field the views read has a wire type other than profile.proto's or a value
 * past the end of its message (the decoder would read it differently from this count).
 */
export function scanPprof(bytes: Uint8Array, limits: ProfileLimits = PROFILE_LIMITS): PprofCounts {
  const counts: PprofCounts = { samples: 0, locations: 0, functions: 0, strings: 0, labelNames: 0, labelsPerSample: 0, objects: 0 };
  const labelKeys = new Set<number>();
  const over = (bound: keyof ProfileLimits, what: string): never => {
    throw new ProfileFileError(`more than ${limits[bound].toLocaleString('en-US')} ${what} (the bound PROFILE_LIMITS.${bound})`);
  };
  const add = (key: 'samples' | 'locations' | 'functions' | 'strings', n: number): void => {
    counts[key] += n;
    if (counts[key] > limits[key]) over(key, key);
  };
  const objects = (n: number): void => {
    counts.objects += n;
    if (counts.objects > limits.objects) over('objects', 'objects to decode');
  };
  const r = readerOf(bytes);
  try {
    fields(r, bytes.length, (field, wireType, at) => {
      switch (field) {
        case 1: // sample_type
          expect(at, 'profile', field, wireType, LEN);
          objects(scalars(r, lengthEnd(r), 'sample type', VALUE_TYPE_FIELDS));
          break;
        case 2: {
          // sample
          expect(at, 'profile', field, wireType, LEN);
          add('samples', 1);
          const labels = scanSample(r, lengthEnd(r), labelKeys, objects);
          if (labels > limits.labelsPerSample) over('labelsPerSample', 'labels in a sample');
          if (labelKeys.size > limits.labelNames) over('labelNames', 'label names');
          counts.labelsPerSample = Math.max(counts.labelsPerSample, labels);
          break;
        }
        case 4: // location
          expect(at, 'profile', field, wireType, LEN);
          add('locations', 1);
          objects(scalars(r, lengthEnd(r), 'location', LOCATION_FIELDS, true));
          break;
        case 5: // function
          expect(at, 'profile', field, wireType, LEN);
          add('functions', 1);
          objects(scalars(r, lengthEnd(r), 'function', FUNCTION_FIELDS));
          break;
        case 6: // string_table
          expect(at, 'profile', field, wireType, LEN);
          add('strings', 1);
          objects(1);
          r.skipType(wireType);
          break;
        case 9: // time_nanos
        case 10: // duration_nanos
          expect(at, 'profile', field, wireType, VARINT);
          objects(1);
          r.skip();
          break;
        case 13: // comment
          expect(at, 'profile', field, wireType, VARINT, LEN);
          if (wireType === LEN) objects(packedCount(r, lengthEnd(r)));
          else {
            objects(1);
            r.skip();
          }
          break;
        default:
          r.skipType(wireType);
      }
    });
  } catch (err) {
    if (err instanceof ProfileFileError) throw err;
    // The reader's own refusals: a value past the end, a wire type that does not exist.
    throw malformed(r.pos, err instanceof Error ? err.message : String(err));
  }
  counts.labelNames = labelKeys.size;
  return counts;
}

/** Counts a sample's objects (itself, its location IDs, values and labels); returns its labels, adding their keys to `keys`. */
function scanSample(r: Protobuf.Reader, end: number, keys: Set<number>, objects: (n: number) => void): number {
  let labels = 0;
  objects(1);
  fields(r, end, (field, wireType, at) => {
    if (field === 1 || field === 2) {
      // location_id, value: packed or one at a time
      expect(at, 'sample', field, wireType, VARINT, LEN);
      if (wireType === LEN) objects(packedCount(r, lengthEnd(r)));
      else {
        objects(1);
        r.skip();
      }
    } else if (field === 3) {
      expect(at, 'sample', field, wireType, LEN);
      labels++;
      objects(scalars(r, lengthEnd(r), 'label', LABEL_FIELDS, false, (key) => keys.add(key)));
    } else r.skipType(wireType);
  });
  return labels;
}
