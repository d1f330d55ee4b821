import { readProfileTags, readRequestCounts, readRequestTimes } from './comments';
import type { RequestTimes } from './comments';
import { LABEL_END_TIMESTAMP, LABEL_LOCAL_ROOT_SPAN_ID, LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT, LABEL_TRACE_ID } from './schema';
import type { TimelineEvent } from './events';
import type { IndexedEvents, SpanColumns } from './EventIndex';
import { nanosPerUnit, num, stringsOf } from './decode';
import type { Int64, PprofMessage } from './decode';
import { functionKey, functionName, normalizeFile, UNKNOWN_FUNCTION } from './functions';

/** A function and line, as a location of a profile names it. */
export interface Frame {
  readonly name: string;
  /** A path (`file://` URLs are turned into one), or `''` for V8's pseudo-frames. */
  readonly file: string;
  readonly line: number;
  /** The frame's function: its index in the table's `functions`. */
  readonly fn: number;
}

/** A function (name and path, see `functionKey`) of a frame table. */
export interface FunctionRef {
  readonly name: string;
  readonly file: string;
  /** `functionKey(name, file)`: equal across frame tables for the same function. */
  readonly key: string;
}

/**
 * Frames and stacks shared by every profile of an index: each distinct frame
 * and each distinct stack is kept once, however many profiles and samples use it.
 */
export class FrameTable {
  readonly frames: Frame[] = [];
  /** The functions of the frames; frames of one function at different lines share one. */
  readonly functions: FunctionRef[] = [];
  /** Stacks as frame IDs, leaf first. */
  readonly stacks: Int32Array[] = [];
  private readonly frameIds = new Map<string, number>();
  private readonly functionIds = new Map<string, number>();
  private readonly stackIds = new Map<string, number>();

  /** The ID of a frame; `file` should already be a path (see `normalizeFile`). */
  frameId(name: string, file: string, line: number): number {
    const key = `${name}\u0000${file}\u0000${line}`;
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(Object.freeze({ name, file, line, fn: this.functionId(name, file) }));
      this.frameIds.set(key, id);
    }
    return id;
  }

  private functionId(name: string, file: string): number {
    const key = functionKey(name, file);
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functions.length;
      this.functions.push(Object.freeze({ name, file, key }));
      this.functionIds.set(key, id);
    }
    return id;
  }

  stackId(frameIds: readonly number[]): number {
    const key = frameIds.join(',');
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stacks.length;
      this.stacks.push(Int32Array.from(frameIds));
      this.stackIds.set(key, id);
    }
    return id;
  }
}

/** No label: the sample was taken outside any span. */
export const NONE = -1;

const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const D = [...'0123456789abcdef'].map((c) => c.charCodeAt(0));
/** 16 hex digits of `hi`, `lo` as one flat string (about twice as fast as `toString(16)` and padding). */
function hex16(hi: number, lo: number): string {
  return String.fromCharCode(
    D[hi >>> 28],
    D[(hi >>> 24) & 15],
    D[(hi >>> 20) & 15],
    D[(hi >>> 16) & 15],
    D[(hi >>> 12) & 15],
    D[(hi >>> 8) & 15],
    D[(hi >>> 4) & 15],
    D[hi & 15],
    D[lo >>> 28],
    D[(lo >>> 24) & 15],
    D[(lo >>> 20) & 15],
    D[(lo >>> 16) & 15],
    D[(lo >>> 12) & 15],
    D[(lo >>> 8) & 15],
    D[(lo >>> 4) & 15],
    D[lo & 15],
  );
}
// An ID's low two bits say where its value is kept, the rest is its index there.
const PACKED_16 = 0;
const PACKED_32 = 1;
const STRING = 2;

/**
 * The label values of one profile. Span and trace IDs in spanprof's form (16
 * or 32 lowercase hex digits) are kept packed, 8 or 16 bytes each, where a
 * string and a map entry would take about 100; any other value is kept as
 * it came. At 1,000 requests/s nearly every sample has span IDs of its own, so
 * this is most of what an indexed sample costs.
 */
export class LabelTable {
  private hex16: Uint32Array = new Uint32Array(64);
  private hex32: Uint32Array = new Uint32Array(64);
  private size16 = 0;
  private size32 = 0;
  private readonly strings: string[] = [];

  /** Adds `value` and returns its ID; the caller adds each distinct value once. */
  add(value: string): number {
    if (HEX16.test(value)) {
      if (this.size16 * 2 === this.hex16.length) this.hex16 = grow(this.hex16);
      this.hex16[this.size16 * 2] = Number.parseInt(value.slice(0, 8), 16);
      this.hex16[this.size16 * 2 + 1] = Number.parseInt(value.slice(8), 16);
      return (this.size16++ << 2) | PACKED_16;
    }
    if (HEX32.test(value)) {
      if (this.size32 * 4 === this.hex32.length) this.hex32 = grow(this.hex32);
      for (let k = 0; k < 4; k++) this.hex32[this.size32 * 4 + k] = Number.parseInt(value.slice(8 * k, 8 * k + 8), 16);
      return (this.size32++ << 2) | PACKED_32;
    }
    this.strings.push(value);
    return ((this.strings.length - 1) << 2) | STRING;
  }

  /** The value of `id` (`''` for `NONE`). */
  get(id: number): string {
    if (id === NONE) return '';
    const i = id >> 2;
    switch (id & 3) {
      case PACKED_16:
        return hex16(this.hex16[2 * i], this.hex16[2 * i + 1]);
      case PACKED_32:
        return hex16(this.hex32[4 * i], this.hex32[4 * i + 1]) + hex16(this.hex32[4 * i + 2], this.hex32[4 * i + 3]);
      default:
        return this.strings[i];
    }
  }

  /** The ID of `value`, or undefined when no sample has it (a scan: lookups are one per profile and query). */
  find(value: string): number | undefined {
    if (HEX16.test(value)) {
      const hi = Number.parseInt(value.slice(0, 8), 16);
      const lo = Number.parseInt(value.slice(8), 16);
      const packed = this.hex16;
      for (let i = 0; i < this.size16; i++) if (packed[2 * i + 1] === lo && packed[2 * i] === hi) return (i << 2) | PACKED_16;
      return undefined;
    }
    if (HEX32.test(value)) {
      const want = [0, 1, 2, 3].map((k) => Number.parseInt(value.slice(8 * k, 8 * k + 8), 16));
      const packed = this.hex32;
      for (let i = 0; i < this.size32; i++) {
        if (packed[4 * i + 3] === want[3] && packed[4 * i + 2] === want[2] && packed[4 * i + 1] === want[1] && packed[4 * i] === want[0])
          return (i << 2) | PACKED_32;
      }
      return undefined;
    }
    const i = this.strings.indexOf(value);
    return i < 0 ? undefined : (i << 2) | STRING;
  }

  /** Gives back the room kept for growth, once the profile is read. */
  trim(): void {
    this.hex16 = this.hex16.slice(0, this.size16 * 2);
    this.hex32 = this.hex32.slice(0, this.size32 * 4);
  }
}

function grow(a: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/**
 * One wall profile, reduced to what the views read: its tags and period, and
 * one row per sample (stack, cost, span labels) in typed columns. Label
 * columns hold IDs into `labels`, the profile's own table, so that a
 * profile's span IDs go away with it.
 */
export interface IndexedProfile {
  readonly file: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Start and end of the profile's period, epoch milliseconds. */
  readonly start: number;
  readonly end: number;
  /** Requests (local root spans) that ended in the period, by endpoint, as the processor counted them. */
  readonly requests: Readonly<Record<string, number>>;
  /** Their durations by endpoint (profiles written before spanprof recorded them have none). */
  readonly requestTimes: ReadonlyMap<string, RequestTimes>;
  readonly frames: FrameTable;
  readonly size: number;
  readonly stack: Int32Array;
  readonly cpu: Float64Array;
  readonly wall: Float64Array;
  readonly count: Float64Array;
  readonly span: Int32Array;
  readonly root: Int32Array;
  readonly trace: Int32Array;
  readonly endpoint: Int32Array;
  /** Other string labels (a framework's custom labels: `tenant`, ...) by name, as label IDs; only those present. */
  readonly custom: ReadonlyMap<string, Int32Array>;
  readonly labels: LabelTable;
  /** When each sample was taken (its `end_timestamp_ns`), epoch milliseconds; NaN where the sample has no time. */
  readonly time: Float64Array;
  /** The period's spans with their names and times, from the events profile written beside this one (none without it). */
  readonly spans: SpanColumns;
  /** Its other events: I/O waits, GC pauses, event-loop blocks. */
  readonly events: readonly TimelineEvent[];
  /** The ID in `labels` of a label value, or undefined when no sample has it. */
  labelId(value: string): number | undefined;
}

/**
 * Reduces a wall profile (decoded by `decodePprof`, or a pprof-format
 * `Profile`) to an `IndexedProfile` whose frames go to `frames`. CPU and wall
 * values are converted to nanoseconds by their sample type's unit.
 */
export function indexProfile(file: string, profile: PprofMessage, frames: FrameTable, events: IndexedEvents = noEvents()): IndexedProfile {
  const strings = stringsOf(profile);
  const str = (id: Int64 | undefined): string => strings[num(id)] ?? '';
  const comments = profile.comment.map(str);
  // Nanoseconds since 1970 exceed 2^53, but their milliseconds do not: the rounding is below a microsecond.
  const start = Math.round(num(profile.timeNanos) / 1e6);
  const end = start + Math.round(num(profile.durationNanos) / 1e6);
  const columns = valueColumns(profile, str);
  const frameOf = locationFrames(profile, str, frames);
  const labels = new LabelTable();
  const labelOf = labelIndexer(strings, labels);
  // Label keys are string-table indices; the four spanprof reads are found once.
  const spanKey = strings.indexOf(LABEL_SPAN_ID);
  const rootKey = strings.indexOf(LABEL_LOCAL_ROOT_SPAN_ID);
  const traceKey = strings.indexOf(LABEL_TRACE_ID);
  const endpointKey = strings.indexOf(LABEL_TRACE_ENDPOINT);
  const timeKey = strings.indexOf(LABEL_END_TIMESTAMP);

  const size = profile.sample.length;
  const stack = new Int32Array(size);
  const cpu = new Float64Array(size);
  const wall = new Float64Array(size);
  const count = new Float64Array(size);
  const span = new Int32Array(size).fill(NONE);
  const root = new Int32Array(size).fill(NONE);
  const trace = new Int32Array(size).fill(NONE);
  const endpoint = new Int32Array(size).fill(NONE);
  const time = new Float64Array(size).fill(Number.NaN);
  const custom = new Map<string, Int32Array>();
  const customByKey = new Map<number, Int32Array>();
  const customColumn = (key: number): Int32Array => {
    let column = customByKey.get(key);
    if (column === undefined) {
      column = new Int32Array(size).fill(NONE);
      customByKey.set(key, column);
      custom.set(strings[key] ?? '', column);
    }
    return column;
  };
  for (let i = 0; i < size; i++) {
    const sample = profile.sample[i];
    stack[i] = frameOf(sample.locationId);
    const v = sample.value;
    if (columns.count >= 0) count[i] = num(v[columns.count]);
    if (columns.wall >= 0) wall[i] = num(v[columns.wall]) * columns.wallScale;
    if (columns.cpu >= 0) cpu[i] = num(v[columns.cpu]) * columns.cpuScale;
    for (const l of sample.label) {
      const key = num(l.key);
      if (key === spanKey) span[i] = labelOf(num(l.str));
      else if (key === rootKey) root[i] = labelOf(num(l.str));
      else if (key === traceKey) trace[i] = labelOf(num(l.str));
      else if (key === endpointKey) endpoint[i] = labelOf(num(l.str));
      else if (key === timeKey) time[i] = num(l.num) / 1e6;
      else if (num(l.str) > 0) customColumn(key)[i] = labelOf(num(l.str));
    }
  }

  labels.trim();
  return {
    file,
    tags: Object.freeze(readProfileTags(comments)),
    start,
    end,
    requests: Object.freeze(readRequestCounts(comments)),
    requestTimes: readRequestTimes(comments),
    frames,
    size,
    stack,
    cpu,
    wall,
    count,
    span,
    root,
    trace,
    endpoint,
    custom,
    labels,
    time,
    spans: events.spans,
    events: events.others,
    labelId: lookupIn(labels),
  };
}

/** Where the sample count, wall and CPU values are (-1: absent), and nanoseconds per unit of the times. */
function valueColumns(
  profile: PprofMessage,
  str: (id: Int64 | undefined) => string,
): { count: number; wall: number; cpu: number; wallScale: number; cpuScale: number } {
  const types = profile.sampleType.map((t) => str(t.type));
  const wall = types.indexOf('wall');
  const cpu = types.indexOf('cpu');
  const toNanos = (index: number): number => (index < 0 ? 1 : nanosPerUnit(str(profile.sampleType[index].unit)));
  return { count: types.indexOf('sample'), wall, cpu, wallScale: toNanos(wall), cpuScale: toNanos(cpu) };
}

/**
 * Sample location IDs → a stack ID of `frames`. A location's frame is its
 * innermost function (pprof lists inlined callers after it); an unknown
 * location is the frame `?`. Each distinct list of locations is resolved once.
 */
function locationFrames(profile: PprofMessage, str: (id: Int64 | undefined) => string, frames: FrameTable): (locationIds: readonly Int64[]) => number {
  const functions = new Map<number, { name: string; file: string }>();
  for (const f of profile.function) functions.set(num(f.id), { name: functionName(str(f.name)), file: normalizeFile(str(f.filename)) });
  const frameOfLocation = new Map<number, number>();
  for (const loc of profile.location) {
    const line = loc.line[0];
    const fn = line === undefined ? undefined : functions.get(num(line.functionId));
    frameOfLocation.set(num(loc.id), frames.frameId(fn?.name ?? UNKNOWN_FUNCTION, fn?.file ?? '', line === undefined ? 0 : num(line.line)));
  }
  const unknownFrame = frames.frameId(UNKNOWN_FUNCTION, '', 0);
  const stackOfLocations = new Map<string, number>();
  const ids: number[] = [];
  return (locationIds) => {
    // Numbers, bigints and protobufjs Longs all print as their digits.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    const key = locationIds.join(',');
    let stackId = stackOfLocations.get(key);
    if (stackId === undefined) {
      ids.length = 0;
      for (const loc of locationIds) ids.push(frameOfLocation.get(num(loc)) ?? unknownFrame);
      stackId = frames.stackId(ids);
      stackOfLocations.set(key, stackId);
    }
    return stackId;
  };
}

/**
 * A label value's string-table index → its ID in `labels` (`NONE` for index 0,
 * no value). A string table may hold a value twice: each distinct value is
 * added once. The maps go with the indexing; only the table stays.
 */
function labelIndexer(strings: readonly string[], labels: LabelTable): (stringId: number) => number {
  const labelOfString = new Map<number, number>();
  const labelOfValue = new Map<string, number>();
  return (stringId) => {
    if (stringId <= 0) return NONE;
    let id = labelOfString.get(stringId);
    if (id === undefined) {
      const value = strings[stringId] ?? '';
      id = labelOfValue.get(value);
      if (id === undefined) {
        id = labels.add(value);
        labelOfValue.set(value, id);
      }
      labelOfString.set(stringId, id);
    }
    return id;
  };
}

/**
 * A lookup that keeps only `labels` alive: a closure made inside
 * `indexProfile` would share its scope, and with it the decoded string table
 * and the per-string map, for as long as the profile is indexed.
 */
function lookupIn(labels: LabelTable): (value: string) => number | undefined {
  return (value) => labels.find(value);
}

let empty: IndexedEvents | undefined;
/** No events: a wall profile without an events profile beside it. */
export function noEvents(): IndexedEvents {
  empty ??= Object.freeze({
    spans: Object.freeze({
      size: 0,
      labels: new LabelTable(),
      span: new Int32Array(0),
      parent: new Int32Array(0),
      trace: new Int32Array(0),
      root: new Int32Array(0),
      endpoint: new Int32Array(0),
      name: new Int32Array(0),
      thread: new Int32Array(0),
      threadId: new Int32Array(0),
      start: new Float64Array(0),
      end: new Float64Array(0),
      durationNanos: new Float64Array(0),
      running: new Uint8Array(0),
    }),
    others: Object.freeze([]),
  });
  return empty;
}
