import { LABEL_LOCAL_ROOT_SPAN_ID, LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT, LABEL_TRACE_ID, readProfileTags, readRequestCounts } from '@spanprof/core';
import { num } from './pprofReader';
import type { PprofMessage } from './pprofReader';

/** A function and line, as a location of a profile names it. */
export interface Frame {
  readonly name: string;
  readonly file: string;
  readonly line: number;
}

/**
 * Frames and stacks shared by every profile of an index: each distinct frame
 * and each distinct stack is kept once, however many profiles and samples use it.
 */
export class FrameTable {
  readonly frames: Frame[] = [];
  /** Stacks as frame IDs, leaf first. */
  readonly stacks: Int32Array[] = [];
  private readonly frameIds = new Map<string, number>();
  private readonly stackIds = new Map<string, number>();

  frameId(name: string, file: string, line: number): number {
    const key = `${name}\u0000${file}\u0000${line}`;
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(Object.freeze({ name, file, line }));
      this.frameIds.set(key, id);
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

/**
 * One wall profile, reduced to what the views read: its tags and period, and
 * one row per sample (stack, cost, span labels) in typed columns. Label
 * columns index `labels`, the profile's own strings, so that a profile's span
 * IDs go away with it.
 */
export interface IndexedProfile {
  readonly file: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Start and end of the profile's period, epoch milliseconds. */
  readonly start: number;
  readonly end: number;
  /** Requests (local root spans) that ended in the period, by endpoint, as the processor counted them. */
  readonly requests: Readonly<Record<string, number>>;
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
  readonly labels: readonly string[];
  /** Index in `labels` of a label value, or undefined when no sample has it. */
  labelId(value: string): number | undefined;
}

/** Reduces a decoded wall profile to an `IndexedProfile` whose frames go to `frames`. */
export function indexProfile(file: string, profile: PprofMessage, frames: FrameTable): IndexedProfile {
  const strings = profile.stringTable;
  const str = (id: Parameters<typeof num>[0]): string => strings[num(id)] ?? '';
  const comments = profile.comment.map(str);
  // Nanoseconds since 1970 exceed 2^53, but their milliseconds do not: the rounding is below a microsecond.
  const start = Math.round(num(profile.timeNanos) / 1e6);
  const end = start + Math.round(num(profile.durationNanos) / 1e6);

  const types = profile.sampleType.map((t) => str(t.type));
  const countIdx = types.indexOf('sample');
  const wallIdx = types.indexOf('wall');
  const cpuIdx = types.indexOf('cpu');

  const functions = new Map<number, { name: string; file: string }>();
  for (const f of profile.function) functions.set(num(f.id), { name: str(f.name) || '?', file: str(f.filename) });
  const frameOfLocation = new Map<number, number>();
  for (const loc of profile.location) {
    const line = loc.line[0];
    const fn = line === undefined ? undefined : functions.get(num(line.functionId));
    frameOfLocation.set(num(loc.id), frames.frameId(fn?.name ?? '?', fn?.file ?? '', line === undefined ? 0 : num(line.line)));
  }
  const unknownFrame = frames.frameId('?', '', 0);

  // Label keys are string-table indices; find the four spanprof reads once.
  const keyId = (name: string): number => strings.indexOf(name);
  const spanKey = keyId(LABEL_SPAN_ID);
  const rootKey = keyId(LABEL_LOCAL_ROOT_SPAN_ID);
  const traceKey = keyId(LABEL_TRACE_ID);
  const endpointKey = keyId(LABEL_TRACE_ENDPOINT);

  const labels: string[] = [];
  const labelIds = new Map<string, number>();
  // String-table index -> label index, so each distinct value is copied once.
  const labelOfString = new Map<number, number>();
  const labelId = (stringId: number): number => {
    if (stringId <= 0) return NONE;
    let id = labelOfString.get(stringId);
    if (id === undefined) {
      const value = strings[stringId] ?? '';
      id = labelIds.get(value);
      if (id === undefined) {
        id = labels.length;
        labels.push(value);
        labelIds.set(value, id);
      }
      labelOfString.set(stringId, id);
    }
    return id;
  };

  const size = profile.sample.length;
  const stack = new Int32Array(size);
  const cpu = new Float64Array(size);
  const wall = new Float64Array(size);
  const count = new Float64Array(size);
  const span = new Int32Array(size).fill(NONE);
  const root = new Int32Array(size).fill(NONE);
  const trace = new Int32Array(size).fill(NONE);
  const endpoint = new Int32Array(size).fill(NONE);
  const stackOfLocations = new Map<string, number>();
  const ids: number[] = [];
  for (let i = 0; i < size; i++) {
    const sample = profile.sample[i];
    const locationKey = sample.locationId.join(',');
    let stackId = stackOfLocations.get(locationKey);
    if (stackId === undefined) {
      ids.length = 0;
      for (const loc of sample.locationId) ids.push(frameOfLocation.get(num(loc)) ?? unknownFrame);
      stackId = frames.stackId(ids);
      stackOfLocations.set(locationKey, stackId);
    }
    stack[i] = stackId;
    const v = sample.value;
    if (countIdx >= 0) count[i] = num(v[countIdx]);
    if (wallIdx >= 0) wall[i] = num(v[wallIdx]);
    if (cpuIdx >= 0) cpu[i] = num(v[cpuIdx]);
    for (const l of sample.label) {
      const key = num(l.key);
      if (key === spanKey) span[i] = labelId(num(l.str));
      else if (key === rootKey) root[i] = labelId(num(l.str));
      else if (key === traceKey) trace[i] = labelId(num(l.str));
      else if (key === endpointKey) endpoint[i] = labelId(num(l.str));
    }
  }

  return {
    file,
    tags: Object.freeze(readProfileTags(comments)),
    start,
    end,
    requests: Object.freeze(readRequestCounts(comments)),
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
    labels,
    labelId: lookupIn(labelIds),
  };
}

/**
 * A lookup that keeps only `ids` alive: a closure made inside `indexProfile`
 * would share its scope, and with it the decoded string table and the
 * per-string maps, for as long as the profile is indexed.
 */
function lookupIn(ids: ReadonlyMap<string, number>): (value: string) => number | undefined {
  return (value) => ids.get(value);
}
