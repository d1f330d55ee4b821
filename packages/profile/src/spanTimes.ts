import { addRequestTimes, percentileMillis } from './comments';
import type { RequestTimes } from './comments';
import { IO_EVENT_KINDS } from './events';
import type { Scope } from './analysis';
import type { IndexedProfile } from './ProfileIndex';
import { NONE } from './ProfileIndex';
import { TAG_PROCESS_PID } from './schema';

/** A span as the events profiles recorded it (its latest record across them). */
interface SpanRecord {
  spanId: string;
  parentSpanId: string;
  traceId: string;
  localRootSpanId: string;
  endpoint: string;
  name: string;
  /** Start and end, epoch milliseconds; a span still running when its last profile was collected ends then. */
  start: number;
  end: number;
  running: boolean;
  durationNanos: number;
  /** The thread it ran on (`thread_name`), and its `thread_id`. */
  thread: string;
  threadId: string;
  /** The `process.pid` tag of the profile that holds it. */
  pid: string;
}

/**
 * Where a span's time went: its duration (from its start and end, exact), the CPU time sampled
 * in the span itself and in the spans under it, and the rest, off the CPU: waiting for I/O,
 * timers, or the thread, busy with other requests.
 */
export interface SpanTime extends Omit<SpanRecord, 'threadId' | 'pid'> {
  /**
   * CPU time sampled while the span itself was active, at most its duration: a sample stands for
   * a whole sampling interval (and may hold CPU time carried over from samples that matched no
   * span), so a span shorter than that would otherwise show more CPU than it lasted.
   */
  cpuNanos: number;
  /** CPU time sampled in the spans under it (any depth, this process), at most what its duration leaves. */
  childCpuNanos: number;
  /**
   * Time in the I/O waits it or the spans under it started (file system, DNS, connects, outgoing
   * HTTP; each at least `events.thresholdMillis`), overlaps counted once, within its duration and
   * at most what its CPU time leaves.
   */
  ioNanos: number;
  /** The rest of its duration: off the CPU and in no recorded I/O wait (timers, short I/O, the thread busy with other requests). */
  waitingNanos: number;
  /** Samples taken while the span itself was active. */
  samples: number;
}

/** The span records of the profiles, one per span: the ended record wins over a running one, then the latest. */
function spanEvents(profiles: readonly IndexedProfile[]): Map<string, SpanRecord> {
  const spans = new Map<string, SpanRecord>();
  for (const p of profiles) {
    const c = p.spans;
    const get = (id: number): string => c.labels.get(id);
    for (let i = 0; i < c.size; i++) {
      const spanId = get(c.span[i]);
      if (spanId === '') continue;
      const known = spans.get(spanId);
      const running = c.running[i] === 1;
      if (known !== undefined && !(known.running && (!running || c.end[i] > known.end))) continue;
      spans.set(spanId, {
        spanId,
        parentSpanId: get(c.parent[i]),
        traceId: get(c.trace[i]),
        localRootSpanId: get(c.root[i]),
        endpoint: get(c.endpoint[i]),
        name: get(c.name[i]),
        start: c.start[i],
        end: c.end[i],
        durationNanos: c.durationNanos[i],
        running,
        thread: get(c.thread[i]),
        threadId: get(c.threadId[i]),
        pid: p.tags[TAG_PROCESS_PID] ?? '',
      });
    }
  }
  return spans;
}

/** CPU time and samples per span ID, over every sample that has one. */
function cpuBySpan(profiles: readonly IndexedProfile[]): Map<string, { cpuNanos: number; samples: number }> {
  const bySpan = new Map<string, { cpuNanos: number; samples: number }>();
  for (const p of profiles) {
    const byId = new Map<number, { cpuNanos: number; samples: number }>();
    for (let i = 0; i < p.size; i++) {
      const id = p.span[i];
      if (id === NONE) continue;
      let c = byId.get(id);
      if (c === undefined) byId.set(id, (c = { cpuNanos: 0, samples: 0 }));
      c.cpuNanos += p.cpu[i];
      c.samples += p.count[i];
    }
    for (const [id, c] of byId) {
      const spanId = p.labels.get(id);
      const into = bySpan.get(spanId);
      if (into === undefined) bySpan.set(spanId, c);
      else {
        into.cpuNanos += c.cpuNanos;
        into.samples += c.samples;
      }
    }
  }
  return bySpan;
}

/** The I/O waits of each recorded span and of the spans under it, as [start, end] intervals (ms). */
function ioBySpan(profiles: readonly IndexedProfile[], spans: ReadonlyMap<string, SpanRecord>): Map<string, [number, number][]> {
  const io = new Map<string, [number, number][]>();
  for (const p of profiles) {
    for (const e of p.events) {
      if (e.spanId === '' || !IO_EVENT_KINDS.includes(e.kind)) continue;
      const seen = new Set<string>();
      for (let at: string | undefined = e.spanId; at !== undefined && at !== '' && !seen.has(at); at = spans.get(at)?.parentSpanId) {
        seen.add(at);
        let list = io.get(at);
        if (list === undefined) io.set(at, (list = []));
        list.push([e.start, e.end]);
        if (!spans.has(at)) break;
      }
    }
  }
  return io;
}

/** The length of the union of `intervals` within [from, to], ms. */
function unionMillis(intervals: [number, number][], from: number, to: number): number {
  if (intervals.length === 0) return 0;
  const sorted = intervals
    .map(([a, b]): [number, number] => [Math.max(a, from), Math.min(b, to)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let [start, end] = sorted[0] ?? [0, 0];
  for (const [a, b] of sorted.slice(1)) {
    if (a > end) {
      total += end - start;
      [start, end] = [a, b];
    } else end = Math.max(end, b);
  }
  return sorted.length === 0 ? 0 : total + end - start;
}

/**
 * The time split of every span the profiles recorded (spans with samples, and their local
 * ancestors), keyed by span ID. Profiles without events profiles (older files) give none.
 */
export function spanTimes(profiles: readonly IndexedProfile[]): Map<string, SpanTime> {
  const events = spanEvents(profiles);
  const cpu = cpuBySpan(profiles);
  const io = ioBySpan(profiles, events);
  const raw = new Map<string, { own: number; children: number }>();
  for (const spanId of events.keys()) raw.set(spanId, { own: cpu.get(spanId)?.cpuNanos ?? 0, children: 0 });
  // Each span's CPU goes to every recorded ancestor (a cycle in a damaged file stops at the first repeat).
  for (const [spanId, own] of raw) {
    if (own.own === 0) continue;
    const seen = new Set([spanId]);
    for (let parent = events.get(spanId)?.parentSpanId; parent !== undefined && parent !== '' && !seen.has(parent);) {
      seen.add(parent);
      const into = raw.get(parent);
      if (into === undefined) break;
      into.children += own.own;
      parent = events.get(parent)?.parentSpanId;
    }
  }
  const times = new Map<string, SpanTime>();
  for (const [spanId, e] of events) {
    const durationNanos = e.durationNanos;
    const r = raw.get(spanId) ?? { own: 0, children: 0 };
    const cpuNanos = Math.min(r.own, durationNanos);
    const childCpuNanos = Math.min(r.children, durationNanos - cpuNanos);
    // To the microsecond: epoch milliseconds in a double are precise to a fraction of one.
    const ioNanos = Math.min(Math.round(unionMillis(io.get(spanId) ?? [], e.start, e.end) * 1e3) * 1e3, durationNanos - cpuNanos - childCpuNanos);
    times.set(spanId, {
      spanId,
      parentSpanId: e.parentSpanId,
      traceId: e.traceId,
      localRootSpanId: e.localRootSpanId,
      endpoint: e.endpoint,
      name: e.name,
      start: e.start,
      end: e.end,
      running: e.running,
      durationNanos,
      thread: e.thread,
      cpuNanos,
      childCpuNanos,
      ioNanos,
      waitingNanos: durationNanos - cpuNanos - childCpuNanos - ioNanos,
      samples: cpu.get(spanId)?.samples ?? 0,
    });
  }
  return times;
}

/** How long an endpoint's requests took, and where their time went, per request. */
export interface EndpointTime {
  endpoint: string;
  /** Requests that ended in the profiles' periods, with a duration (see `RequestTimes`). */
  requests: number;
  meanMillis: number;
  /** From the duration buckets: within 5% of the exact figure. */
  p50Millis: number;
  p95Millis: number;
  /** Sampled CPU time of the endpoint per request (every span of it, this process). */
  cpuMillisPerRequest: number;
  /** Time in recorded I/O waits per request (see `SpanTime.ioNanos`). */
  ioMillisPerRequest: number;
  /**
   * The p95 of the I/O waits of a request: every request with one is recorded, the others had
   * none. (CPU per request is sampled: a mean over requests, not a distribution.)
   */
  ioP95Millis: number;
  /** The rest of the mean duration: off the CPU and in no recorded I/O wait. */
  waitingMillisPerRequest: number;
}

/**
 * Per endpoint, the requests' durations (every request that ended, sampled or not: counted by
 * the span processor) and their mean split into sampled CPU time and waiting.
 */
export function endpointTimes(profiles: readonly IndexedProfile[], spans: ReadonlyMap<string, SpanTime> = spanTimes(profiles)): Map<string, EndpointTime> {
  const durations = new Map<string, RequestTimes>();
  const cpu = new Map<string, number>();
  // Every request with an I/O wait is recorded (its root with it): the sum over recorded roots is the endpoint's.
  const io = new Map<string, number[]>();
  for (const s of spans.values()) {
    if (s.spanId !== s.localRootSpanId || s.ioNanos <= 0) continue;
    let list = io.get(s.endpoint);
    if (list === undefined) io.set(s.endpoint, (list = []));
    list.push(s.ioNanos / 1e6);
  }
  for (const p of profiles) {
    for (const [endpoint, t] of p.requestTimes) {
      let into = durations.get(endpoint);
      if (into === undefined) durations.set(endpoint, (into = { count: 0, sumMillis: 0, buckets: new Map() }));
      addRequestTimes(into, t);
    }
    const byId = new Map<number, number>();
    for (let i = 0; i < p.size; i++) {
      if (p.endpoint[i] === NONE) continue;
      byId.set(p.endpoint[i], (byId.get(p.endpoint[i]) ?? 0) + p.cpu[i]);
    }
    for (const [id, nanos] of byId) {
      const endpoint = p.labels.get(id);
      cpu.set(endpoint, (cpu.get(endpoint) ?? 0) + nanos);
    }
  }
  const times = new Map<string, EndpointTime>();
  for (const [endpoint, t] of durations) {
    if (t.count === 0) continue;
    const meanMillis = t.sumMillis / t.count;
    const cpuMillisPerRequest = Math.min((cpu.get(endpoint) ?? 0) / 1e6 / t.count, meanMillis);
    const waits = (io.get(endpoint) ?? []).sort((a, b) => a - b);
    const ioMillisPerRequest = Math.min(waits.reduce((sum, w) => sum + w, 0) / t.count, meanMillis - cpuMillisPerRequest);
    // The requests without a recorded wait count as zeros below the sorted waits.
    const rank = Math.ceil(0.95 * Math.max(t.count, waits.length)) - (Math.max(t.count, waits.length) - waits.length);
    const ioP95Millis = rank <= 0 ? 0 : waits[rank - 1];
    times.set(endpoint, {
      endpoint,
      requests: t.count,
      meanMillis,
      p50Millis: percentileMillis(t.buckets, 0.5),
      p95Millis: percentileMillis(t.buckets, 0.95),
      cpuMillisPerRequest,
      ioMillisPerRequest,
      ioP95Millis,
      waitingMillisPerRequest: meanMillis - cpuMillisPerRequest - ioMillisPerRequest,
    });
  }
  return times;
}

/** A trace's part in these profiles: its local roots' span, and where that time went. */
export interface TraceTime {
  traceId: string;
  /** The first local root's name. */
  name: string;
  endpoint: string;
  start: number;
  end: number;
  running: boolean;
  /** From the first local root's start to the last one's end. */
  durationNanos: number;
  /** Sampled CPU time of all its spans, at most its duration. */
  cpuNanos: number;
  /** Its local roots' I/O waits, at most what the CPU time leaves. */
  ioNanos: number;
  waitingNanos: number;
}

/** The time split of each trace whose local roots the profiles recorded, from `spanTimes`. */
export function traceTimes(spans: ReadonlyMap<string, SpanTime>): Map<string, TraceTime> {
  const traces = new Map<string, TraceTime & { cpu: number; io: number }>();
  for (const s of spans.values()) {
    if (s.spanId !== s.localRootSpanId) continue;
    const t = traces.get(s.traceId);
    const cpu = s.cpuNanos + s.childCpuNanos;
    const io = s.ioNanos;
    if (t === undefined) {
      traces.set(s.traceId, {
        traceId: s.traceId,
        name: s.name,
        endpoint: s.endpoint,
        start: s.start,
        end: s.end,
        running: s.running,
        durationNanos: 0,
        cpuNanos: 0,
        ioNanos: 0,
        waitingNanos: 0,
        cpu,
        io,
      });
      continue;
    }
    if (s.start < t.start) {
      t.start = s.start;
      t.name = s.name;
      t.endpoint = s.endpoint;
    }
    t.end = Math.max(t.end, s.end);
    t.running ||= s.running;
    t.cpu += cpu;
    t.io += io;
  }
  const times = new Map<string, TraceTime>();
  for (const { cpu, io, ...t } of traces.values()) {
    t.durationNanos = Math.max(0, Math.round((t.end - t.start) * 1e6));
    t.cpuNanos = Math.min(cpu, t.durationNanos);
    t.ioNanos = Math.min(io, t.durationNanos - t.cpuNanos);
    t.waitingNanos = t.durationNanos - t.cpuNanos - t.ioNanos;
    times.set(t.traceId, t);
  }
  return times;
}

/** Where the time of a span (or local root), trace or endpoint went, as `scopeTime` finds it. */
export type ScopeTime = { kind: 'span'; time: SpanTime } | { kind: 'trace'; time: TraceTime } | { kind: 'endpoint'; time: EndpointTime };

/** The time split of a span, local root, trace or endpoint scope; undefined for other scopes or when not recorded. */
export function scopeTime(profiles: readonly IndexedProfile[], scope: Scope): ScopeTime | undefined {
  if (scope.kind === 'span' || scope.kind === 'root') {
    const time = spanTimes(profiles).get(scope.id);
    return time === undefined ? undefined : { kind: 'span', time };
  }
  if (scope.kind === 'trace') {
    const time = traceTimes(spanTimes(profiles)).get(scope.id);
    return time === undefined ? undefined : { kind: 'trace', time };
  }
  if (scope.kind === 'endpoint') {
    const time = endpointTimes(profiles).get(scope.name);
    return time === undefined ? undefined : { kind: 'endpoint', time };
  }
  return undefined;
}

/** One sample on a timeline: when it was taken, in which span, its CPU time and its innermost function. */
export interface TimelineSample {
  /** Epoch milliseconds. */
  time: number;
  spanId: string;
  cpuNanos: number;
  wallNanos: number;
  function: string;
}

/** A local root's spans and samples in time order, for a timeline. */
export interface Timeline {
  root: SpanTime;
  /** The recorded spans of the local root (the root first), by start. */
  spans: SpanTime[];
  /** Its samples that carry a time, by time (at most `maxSamples`: the rest are left out, `truncated`). */
  samples: TimelineSample[];
  truncated: boolean;
  /** The event-loop blocks of its process and thread during it. */
  blocks: { start: number; end: number }[];
  /** The I/O waits and GC pauses of its spans, by start (at most `maxSamples`). */
  events: { kind: string; name: string; resource: string; start: number; end: number; spanId: string; error: boolean }[];
}

/** The timeline of the local root of `spanId`: its spans as bars, its samples in time. Undefined when the span was not recorded. */
export function timeline(profiles: readonly IndexedProfile[], spanId: string, maxSamples = 10_000): Timeline | undefined {
  const times = spanTimes(profiles);
  const span = times.get(spanId);
  if (span === undefined) return undefined;
  const root = times.get(span.localRootSpanId) ?? span;
  const spans = [...times.values()].filter((s) => s.localRootSpanId === root.localRootSpanId).sort((a, b) => a.start - b.start || (a === root ? -1 : 1));
  const samples: TimelineSample[] = [];
  let truncated = false;
  for (const p of profiles) {
    const rootId = p.labelId(root.localRootSpanId);
    if (rootId === undefined) continue;
    for (let i = 0; i < p.size; i++) {
      if (p.root[i] !== rootId || Number.isNaN(p.time[i])) continue;
      if (samples.length >= maxSamples) {
        truncated = true;
        break;
      }
      const leaf = p.frames.stacks[p.stack[i]][0];
      samples.push({
        time: p.time[i],
        spanId: p.labels.get(p.span[i]),
        cpuNanos: p.cpu[i],
        wallNanos: p.wall[i],
        function: leaf === undefined ? '' : p.frames.frames[leaf].name,
      });
    }
  }
  samples.sort((a, b) => a.time - b.time);
  const end = Math.max(root.end, ...spans.map((s) => s.end));
  // The blocks of the root's own process and thread.
  const record = spanEvents(profiles).get(root.spanId);
  const pid = record?.pid;
  const threadId = record?.threadId;
  const blocks: { start: number; end: number }[] = [];
  for (const p of profiles) {
    if (p.tags[TAG_PROCESS_PID] !== pid) continue;
    for (const e of p.events) {
      if (e.kind === 'block' && e.threadId === threadId && e.end >= root.start && e.start <= end) blocks.push({ start: e.start, end: e.end });
    }
  }
  const events: Timeline['events'] = [];
  for (const p of profiles) {
    for (const e of p.events) {
      if (e.kind === 'span' || e.kind === 'block' || e.localRootSpanId !== root.localRootSpanId || events.length >= maxSamples) continue;
      events.push({ kind: e.kind, name: e.name, resource: e.resource, start: e.start, end: e.end, spanId: e.spanId, error: e.error });
    }
  }
  events.sort((a, b) => a.start - b.start);
  return { root, spans, samples, truncated, blocks, events };
}
