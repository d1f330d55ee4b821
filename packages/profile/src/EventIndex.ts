import { num, stringsOf } from './decode';
import type { Int64, PprofMessage } from './decode';
import { readEvents } from './events';
import type { TimelineEvent } from './events';
import { LabelTable, NONE } from './ProfileIndex';
import {
  LABEL_END_TIMESTAMP,
  LABEL_EVENT,
  LABEL_LOCAL_ROOT_SPAN_ID,
  LABEL_PARENT_SPAN_ID,
  LABEL_RUNNING,
  LABEL_SPAN_ID,
  LABEL_THREAD_ID,
  LABEL_THREAD_NAME,
  LABEL_TRACE_ENDPOINT,
  LABEL_TRACE_ID,
} from './schema';

/**
 * The span events of one events profile in typed columns, as the views keep them: an hour at
 * 1,000 requests/s holds a quarter of a million spans, and an object per span took more than the
 * wall samples' whole index. Text columns hold IDs into `labels` (span and trace IDs packed).
 */
export interface SpanColumns {
  readonly size: number;
  readonly labels: LabelTable;
  readonly span: Int32Array;
  readonly parent: Int32Array;
  readonly trace: Int32Array;
  readonly root: Int32Array;
  readonly endpoint: Int32Array;
  readonly name: Int32Array;
  readonly thread: Int32Array;
  readonly threadId: Int32Array;
  /** Start and end, epoch milliseconds; the duration exactly, as written. */
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly durationNanos: Float64Array;
  /** 1: still running at collection. */
  readonly running: Uint8Array;
}

/** An events profile as the views keep it: its spans in columns, its other events (I/O, GC, blocks) as objects. */
export interface IndexedEvents {
  readonly spans: SpanColumns;
  readonly others: readonly TimelineEvent[];
}

/** Indexes an events profile (decoded by `decodePprof`): span events into columns, the rest by `readEvents`. */
export function indexEvents(profile: PprofMessage): IndexedEvents {
  const strings = stringsOf(profile);
  const str = (id: Int64 | undefined): string => strings[num(id)] ?? '';
  const key = (name: string): number => strings.indexOf(name);
  const eventKey = key(LABEL_EVENT);
  const spanValue = strings.indexOf('span');
  // The span events first (most of them), then the others through the general reader.
  const isSpan = (s: PprofMessage['sample'][number]): boolean => s.label.some((l) => num(l.key) === eventKey && num(l.str) === spanValue);
  const spanSamples = profile.sample.filter(isSpan);
  const others =
    spanSamples.length === profile.sample.length
      ? []
      : readEvents(
          profile,
          profile.sample.filter((s) => !isSpan(s)),
        );
  const size = spanSamples.length;
  const labels = new LabelTable();
  const ids = new Map<number, number>();
  const labelOf = (stringId: number): number => {
    if (stringId <= 0) return NONE;
    let id = ids.get(stringId);
    if (id === undefined) {
      id = labels.add(strings[stringId] ?? '');
      ids.set(stringId, id);
    }
    return id;
  };
  const columns = {
    span: new Int32Array(size).fill(NONE),
    parent: new Int32Array(size).fill(NONE),
    trace: new Int32Array(size).fill(NONE),
    root: new Int32Array(size).fill(NONE),
    endpoint: new Int32Array(size).fill(NONE),
    name: new Int32Array(size).fill(NONE),
    thread: new Int32Array(size).fill(NONE),
    threadId: new Int32Array(size).fill(NONE),
  };
  const byKey = new Map<number, Int32Array>([
    [key(LABEL_SPAN_ID), columns.span],
    [key(LABEL_PARENT_SPAN_ID), columns.parent],
    [key(LABEL_TRACE_ID), columns.trace],
    [key(LABEL_LOCAL_ROOT_SPAN_ID), columns.root],
    [key(LABEL_TRACE_ENDPOINT), columns.endpoint],
    [key(LABEL_THREAD_NAME), columns.thread],
    [key(LABEL_THREAD_ID), columns.threadId],
  ]);
  byKey.delete(-1);
  const endKey = key(LABEL_END_TIMESTAMP);
  const runningKey = key(LABEL_RUNNING);
  const durationIndex = profile.sampleType.findIndex((t) => str(t.type) === 'duration');
  const nameOfFunction = new Map<number, number>();
  for (const f of profile.function) nameOfFunction.set(num(f.id), num(f.name));
  const nameOfLocation = new Map<number, number>();
  for (const loc of profile.location) nameOfLocation.set(num(loc.id), nameOfFunction.get(num(loc.line[0]?.functionId)) ?? 0);
  const start = new Float64Array(size);
  const end = new Float64Array(size);
  const durationNanos = new Float64Array(size);
  const running = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const sample = spanSamples[i];
    for (const l of sample.label) {
      const k = num(l.key);
      if (k === endKey) end[i] = num(l.num) / 1e6;
      else if (k === runningKey) running[i] = str(l.str) === 'true' ? 1 : 0;
      else {
        const column = byKey.get(k);
        if (column !== undefined) column[i] = labelOf(num(l.str));
      }
    }
    durationNanos[i] = durationIndex < 0 ? 0 : num(sample.value[durationIndex]);
    start[i] = end[i] - durationNanos[i] / 1e6;
    columns.name[i] = labelOf(nameOfLocation.get(num(sample.locationId[0])) ?? 0);
  }
  labels.trim();
  return { spans: { size, labels, ...columns, start, end, durationNanos, running }, others };
}
