import { addRequestTimes, percentileMillis } from './comments';
import type { RequestTimes } from './comments';
import type { TimelineEvent } from './events';
import type { Scope } from './analysis';
import type { IndexedProfile } from './ProfileIndex';
import { NONE } from './ProfileIndex';
import { TAG_PROCESS_PID } from './schema';

/**
 * Where a span's time went: its duration (from its start and end, exact), the CPU time sampled
 * in the span itself and in the spans under it, and the rest, off the CPU: waiting for I/O,
 * timers, or the thread, busy with other requests.
 */
export interface SpanTime {
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
  /**
   * CPU time sampled while the span itself was active, at most its duration: a sample stands for
   * a whole sampling interval (and may hold CPU time carried over from samples that matched no
   * span), so a span shorter than that would otherwise show more CPU than it lasted.
   */
  cpuNanos: number;
  /** CPU time sampled in the spans under it (any depth, this process), at most what its duration leaves. */
  childCpuNanos: number;
  /** The rest of its duration: off the CPU. */
  waitingNanos: number;
  /** Samples taken while the span itself was active. */
  samples: number;
  /** The thread it ran on (`thread_name`). */
  thread: string;
}

/** The span records of the profiles, one per span: the ended record wins over a running one, then the latest. */
function spanEvents(profiles: readonly IndexedProfile[]): Map<string, TimelineEvent> {
  const spans = new Map<string, TimelineEvent>();
  for (const p of profiles) {
    for (const e of p.events) {
      if (e.kind !== 'span' || e.spanId === '') continue;
      const known = spans.get(e.spanId);
      if (known === undefined || (known.running && (!e.running || e.end > known.end))) spans.set(e.spanId, e);
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

/**
 * The time split of every span the profiles recorded (spans with samples, and their local
 * ancestors), keyed by span ID. Profiles without events profiles (older files) give none.
 */
export function spanTimes(profiles: readonly IndexedProfile[]): Map<string, SpanTime> {
  const events = spanEvents(profiles);
  const cpu = cpuBySpan(profiles);
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
    const durationNanos = Math.max(0, Math.round((e.end - e.start) * 1e6));
    const r = raw.get(spanId) ?? { own: 0, children: 0 };
    const cpuNanos = Math.min(r.own, durationNanos);
    const childCpuNanos = Math.min(r.children, durationNanos - cpuNanos);
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
      cpuNanos,
      childCpuNanos,
      waitingNanos: durationNanos - cpuNanos - childCpuNanos,
      samples: cpu.get(spanId)?.samples ?? 0,
      thread: e.thread,
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
  /** The rest of the mean duration: off the CPU. */
  waitingMillisPerRequest: number;
}

/**
 * Per endpoint, the requests' durations (every request that ended, sampled or not: counted by
 * the span processor) and their mean split into sampled CPU time and waiting.
 */
export function endpointTimes(profiles: readonly IndexedProfile[]): Map<string, EndpointTime> {
  const durations = new Map<string, RequestTimes>();
  const cpu = new Map<string, number>();
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
    times.set(endpoint, {
      endpoint,
      requests: t.count,
      meanMillis,
      p50Millis: percentileMillis(t.buckets, 0.5),
      p95Millis: percentileMillis(t.buckets, 0.95),
      cpuMillisPerRequest,
      waitingMillisPerRequest: meanMillis - cpuMillisPerRequest,
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
  waitingNanos: number;
}

/** The time split of each trace whose local roots the profiles recorded, from `spanTimes`. */
export function traceTimes(spans: ReadonlyMap<string, SpanTime>): Map<string, TraceTime> {
  const traces = new Map<string, TraceTime & { cpu: number }>();
  for (const s of spans.values()) {
    if (s.spanId !== s.localRootSpanId) continue;
    const t = traces.get(s.traceId);
    const cpu = s.cpuNanos + s.childCpuNanos;
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
        waitingNanos: 0,
        cpu,
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
  }
  const times = new Map<string, TraceTime>();
  for (const { cpu, ...t } of traces.values()) {
    t.durationNanos = Math.max(0, Math.round((t.end - t.start) * 1e6));
    t.cpuNanos = Math.min(cpu, t.durationNanos);
    t.waitingNanos = t.durationNanos - t.cpuNanos;
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
  let pid: string | undefined;
  let threadId: string | undefined;
  for (const p of profiles) {
    const e = p.events.find((x) => x.kind === 'span' && x.spanId === root.spanId);
    if (e !== undefined) {
      pid = p.tags[TAG_PROCESS_PID];
      threadId = e.threadId;
      break;
    }
  }
  const blocks: { start: number; end: number }[] = [];
  for (const p of profiles) {
    if (p.tags[TAG_PROCESS_PID] !== pid) continue;
    for (const e of p.events) {
      if (e.kind === 'block' && e.threadId === threadId && e.end >= root.start && e.start <= end) blocks.push({ start: e.start, end: e.end });
    }
  }
  return { root, spans, samples, truncated, blocks };
}
