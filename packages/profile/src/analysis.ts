import type { FrameTable, IndexedProfile } from './ProfileIndex';
import { NONE } from './ProfileIndex';
import { endpointTimes, spanTimes, traceTimes } from './spanTimes';
import type { EndpointTime, SpanTime, TraceTime } from './spanTimes';

/** What part of the samples to look at. */
export type Scope =
  | { kind: 'all' }
  | { kind: 'span'; id: string }
  | { kind: 'trace'; id: string }
  | { kind: 'root'; id: string }
  | { kind: 'endpoint'; name: string }
  /** The samples whose custom label `name` (`tenant`, ...) has `value`. */
  | { kind: 'label'; name: string; value: string };

/** Nanoseconds of CPU and wall time, and the sample count. */
export interface Cost {
  cpuNanos: number;
  wallNanos: number;
  samples: number;
}

/** Which time a view weighs samples by. */
export type TimeKind = 'cpu' | 'wall';

const zero = (): Cost => ({ cpuNanos: 0, wallNanos: 0, samples: 0 });
function addSample(into: Cost, p: IndexedProfile, i: number): void {
  into.cpuNanos += p.cpu[i];
  into.wallNanos += p.wall[i];
  into.samples += p.count[i];
}
function add(into: Cost, c: Cost): void {
  into.cpuNanos += c.cpuNanos;
  into.wallNanos += c.wallNanos;
  into.samples += c.samples;
}
const timeOf =
  (kind: TimeKind) =>
  (c: Cost): number =>
    kind === 'cpu' ? c.cpuNanos : c.wallNanos;

/**
 * The rows of `p` in `scope`: a predicate on the row index, or `undefined`
 * when no row of the profile can be (the ID is not among its labels).
 */
function scopeFilter(scope: Scope, p: IndexedProfile): ((i: number) => boolean) | undefined {
  if (scope.kind === 'all') return () => true;
  const value = scope.kind === 'endpoint' ? scope.name : scope.kind === 'label' ? scope.value : scope.id;
  const id = p.labelId(value);
  if (id === undefined) return undefined;
  const column =
    scope.kind === 'label'
      ? p.custom.get(scope.name)
      : scope.kind === 'span'
        ? p.span
        : scope.kind === 'trace'
          ? p.trace
          : scope.kind === 'root'
            ? p.root
            : p.endpoint;
  if (column === undefined) return undefined;
  return (i) => column[i] === id;
}

/**
 * CPU and wall time per value of a custom label (`tenant`, ...) of the samples in `scope`;
 * the samples without that label are under `''`.
 */
export function costByLabel(profiles: readonly IndexedProfile[], name: string, scope: Scope = { kind: 'all' }): Map<string, Cost> {
  const values = new Map<string, Cost>();
  for (const p of profiles) {
    const keep = scopeFilter(scope, p);
    if (keep === undefined) continue;
    const column = p.custom.get(name);
    for (let i = 0; i < p.size; i++) {
      if (!keep(i)) continue;
      const value = column === undefined ? '' : p.labels.get(column[i]);
      let c = values.get(value);
      if (c === undefined) values.set(value, (c = zero()));
      addSample(c, p, i);
    }
  }
  return values;
}

/** Cost per stack of the samples in `scope`, grouped by the frame table the stacks belong to. */
function costByStack(profiles: readonly IndexedProfile[], scope: Scope): { total: Cost; tables: Map<FrameTable, Map<number, Cost>> } {
  const total = zero();
  const tables = new Map<FrameTable, Map<number, Cost>>();
  for (const p of profiles) {
    const keep = scopeFilter(scope, p);
    if (keep === undefined) continue;
    let stacks = tables.get(p.frames);
    if (stacks === undefined) {
      stacks = new Map();
      tables.set(p.frames, stacks);
    }
    for (let i = 0; i < p.size; i++) {
      if (!keep(i)) continue;
      addSample(total, p, i);
      let c = stacks.get(p.stack[i]);
      if (c === undefined) {
        c = zero();
        stacks.set(p.stack[i], c);
      }
      addSample(c, p, i);
    }
  }
  return { total, tables };
}

export interface SpanCost extends Cost {
  spanId: string;
  traceId: string;
  localRootSpanId: string;
  endpoint: string;
  /** The span's name, times and time split, when its events profile recorded it. */
  time?: SpanTime;
}
export interface TraceCost extends Cost {
  traceId: string;
  endpoint: string;
  spans: number;
  /** The trace's local roots' name, times and time split, when recorded. */
  time?: TraceTime;
}
export interface EndpointCost extends Cost {
  endpoint: string;
  traces: number;
  /** Requests that ended in the selected periods, as counted by the processor (0 if the profiles carry no counts). */
  requests: number;
  /** The requests' durations and their split per request, when the profiles carry them. */
  time?: EndpointTime;
}

/**
 * How `rank` orders its lists: by sampled CPU or running time, or by `duration`: traces and
 * spans slowest first and endpoints by the time their requests took in all (requests × mean),
 * measured from the spans' start and end rather than sampled; rows with no recorded time come
 * after, by CPU.
 */
export type RankOrder = TimeKind | 'duration';

export interface Ranking {
  endpoints: EndpointCost[];
  traces: TraceCost[];
  spans: SpanCost[];
  /** All samples, and those with no span. */
  total: Cost;
  unattributed: Cost;
}

const byCost = (a: Cost, b: Cost): number => b.cpuNanos - a.cpuNanos || b.wallNanos - a.wallNanos;

/** CPU and wall time per span, per trace and per endpoint of the samples in `scope`, costliest first. */
export function rank(profiles: readonly IndexedProfile[], sortBy: RankOrder = 'cpu', scope: Scope = { kind: 'all' }): Ranking {
  const spans = new Map<string, SpanCost>();
  const traces = new Map<string, TraceCost & { spanIds: Set<string> }>();
  const endpoints = new Map<string, Omit<EndpointCost, 'requests'> & { traceIds: Set<string> }>();
  const requests = new Map<string, number>();
  const total = zero();
  const unattributed = zero();
  for (const p of profiles) {
    const keep = scopeFilter(scope, p);
    if (keep === undefined) continue;
    for (const [endpoint, n] of Object.entries(p.requests)) requests.set(endpoint, (requests.get(endpoint) ?? 0) + n);
    const label = (id: number): string => p.labels.get(id);
    for (let i = 0; i < p.size; i++) {
      if (!keep(i)) continue;
      addSample(total, p, i);
      if (p.span[i] === NONE) {
        addSample(unattributed, p, i);
        continue;
      }
      const spanId = label(p.span[i]);
      const traceId = label(p.trace[i]);
      const endpoint = label(p.endpoint[i]);
      let span = spans.get(spanId);
      if (span === undefined) {
        span = { spanId, traceId, localRootSpanId: label(p.root[i]), endpoint, ...zero() };
        spans.set(spanId, span);
      }
      addSample(span, p, i);
      let trace = traces.get(traceId);
      if (trace === undefined) {
        trace = { traceId, endpoint, spans: 0, spanIds: new Set(), ...zero() };
        traces.set(traceId, trace);
      }
      addSample(trace, p, i);
      trace.spanIds.add(spanId);
      let ep = endpoints.get(endpoint);
      if (ep === undefined) {
        ep = { endpoint, traces: 0, traceIds: new Set(), ...zero() };
        endpoints.set(endpoint, ep);
      }
      addSample(ep, p, i);
      ep.traceIds.add(traceId);
    }
  }
  // Names, times and splits from the events profiles; the recorded spans in scope with no samples of their own (a root that only waited on its children) too.
  const recorded = spanTimes(profiles);
  for (const t of recorded.values()) {
    if (!spans.has(t.spanId) && inScope(t, scope)) {
      spans.set(t.spanId, { spanId: t.spanId, traceId: t.traceId, localRootSpanId: t.localRootSpanId, endpoint: t.endpoint, ...zero() });
      traces.get(t.traceId)?.spanIds.add(t.spanId);
    }
  }
  for (const span of spans.values()) span.time = recorded.get(span.spanId);
  const traceTime = traceTimes(recorded);
  const endpointTime = endpointTimes(profiles, recorded);
  const byTime = sortBy === 'wall' ? (a: Cost, b: Cost) => b.wallNanos - a.wallNanos || b.cpuNanos - a.cpuNanos : byCost;
  const order =
    sortBy !== 'duration'
      ? byTime
      : (a: Cost & { time?: { durationNanos: number } }, b: Cost & { time?: { durationNanos: number } }) =>
          (b.time?.durationNanos ?? -1) - (a.time?.durationNanos ?? -1) || byCost(a, b);
  const requestTime = (e: EndpointCost): number => (e.time === undefined ? -1 : e.time.meanMillis * e.time.requests);
  const endpointOrder = sortBy !== 'duration' ? byTime : (a: EndpointCost, b: EndpointCost) => requestTime(b) - requestTime(a) || byCost(a, b);
  return {
    spans: [...spans.values()].sort(order),
    traces: [...traces.values()].map(({ spanIds, ...t }) => ({ ...t, spans: spanIds.size, time: traceTime.get(t.traceId) })).sort(order),
    endpoints: [...endpoints.values()]
      .map(({ traceIds, ...e }) => ({ ...e, traces: traceIds.size, requests: requests.get(e.endpoint) ?? 0, time: endpointTime.get(e.endpoint) }))
      .sort(endpointOrder),
    total,
    unattributed,
  };
}

/** Whether a recorded span belongs to `scope` (a custom label scope selects by samples only). */
function inScope(t: SpanTime, scope: Scope): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'span':
      return t.spanId === scope.id;
    case 'trace':
      return t.traceId === scope.id;
    case 'root':
      return t.localRootSpanId === scope.id;
    case 'endpoint':
      return t.endpoint === scope.name;
    case 'label':
      return false;
  }
}

/**
 * CPU and wall time per endpoint of the samples in `scope`; the samples with
 * no endpoint label (outside any span) are under `''`.
 */
export function costByEndpoint(profiles: readonly IndexedProfile[], scope: Scope = { kind: 'all' }): Map<string, Cost> {
  const endpoints = new Map<string, Cost>();
  for (const p of profiles) {
    const keep = scopeFilter(scope, p);
    if (keep === undefined) continue;
    // By label ID first: one map lookup per sample, no string made.
    const byId = new Map<number, Cost>();
    for (let i = 0; i < p.size; i++) {
      if (!keep(i)) continue;
      let c = byId.get(p.endpoint[i]);
      if (c === undefined) byId.set(p.endpoint[i], (c = zero()));
      addSample(c, p, i);
    }
    for (const [id, c] of byId) {
      const name = p.labels.get(id);
      const into = endpoints.get(name);
      if (into === undefined) endpoints.set(name, c);
      else add(into, c);
    }
  }
  return endpoints;
}

/** The files (`IndexedProfile.file`) of the profiles that hold samples in `scope`, in the order given. */
export function filesOf(profiles: readonly IndexedProfile[], scope: Scope): string[] {
  const files: string[] = [];
  for (const p of profiles) {
    const keep = scopeFilter(scope, p);
    if (keep === undefined) continue;
    for (let i = 0; i < p.size; i++) {
      if (keep(i)) {
        files.push(p.file);
        break;
      }
    }
  }
  return files;
}

/** What the samples of a span say about it: its trace, local root and endpoint. */
export interface SpanInfo {
  spanId: string;
  traceId: string;
  localRootSpanId: string;
  endpoint: string;
}

/** The trace, local root and endpoint of a span, from the first sample taken in it. */
export function findSpan(profiles: readonly IndexedProfile[], spanId: string): SpanInfo | undefined {
  for (const p of profiles) {
    const id = p.labelId(spanId);
    if (id === undefined) continue;
    const i = p.span.indexOf(id);
    if (i < 0) continue;
    const label = (l: number): string => p.labels.get(l);
    return { spanId, traceId: label(p.trace[i]), localRootSpanId: label(p.root[i]), endpoint: label(p.endpoint[i]) };
  }
  return undefined;
}

export interface FunctionCost {
  name: string;
  /** The function's file as a path (`''` for V8's pseudo-frames). */
  file: string;
  /** Its definition line: the lowest where several locations of one function were seen. */
  line: number;
  /** Time in the function itself (leaf frame). */
  self: Cost;
  /** Time in the function and everything it called. */
  total: Cost;
}

export interface Hotspots {
  scope: Scope;
  /** Cost of every sample in scope. */
  total: Cost;
  functions: FunctionCost[];
}

/**
 * The functions that cost the most in `scope`, self and total, CPU and wall.
 * A function is its name and path (see `functionKey`): frames of one function
 * at different lines, or from different frame tables, make one row.
 */
export function hotspots(profiles: readonly IndexedProfile[], scope: Scope, sortBy: TimeKind = 'cpu'): Hotspots {
  const { total, tables } = costByStack(profiles, scope);
  const functions = new Map<string, FunctionCost>();
  const seen = new Set<FunctionCost>();
  for (const [table, stacks] of tables) {
    const costOf: (FunctionCost | undefined)[] = [];
    const functionOf = (frameId: number): FunctionCost => {
      const frame = table.frames[frameId];
      let fn = costOf[frame.fn];
      if (fn === undefined) {
        const ref = table.functions[frame.fn];
        fn = functions.get(ref.key);
        if (fn === undefined) {
          fn = { name: ref.name, file: ref.file, line: frame.line, self: zero(), total: zero() };
          functions.set(ref.key, fn);
        }
        costOf[frame.fn] = fn;
      }
      if (frame.line > 0 && (fn.line === 0 || frame.line < fn.line)) fn.line = frame.line;
      return fn;
    };
    for (const [stackId, cost] of stacks) {
      const stack = table.stacks[stackId];
      seen.clear();
      for (let depth = 0; depth < stack.length; depth++) {
        const fn = functionOf(stack[depth]);
        if (depth === 0) add(fn.self, cost);
        // Recursion: a function counts once per sample in its total.
        if (!seen.has(fn)) {
          seen.add(fn);
          add(fn.total, cost);
        }
      }
    }
  }
  const metric = timeOf(sortBy);
  const list = [...functions.values()].sort((a, b) => metric(b.self) - metric(a.self) || metric(b.total) - metric(a.total));
  return { scope, total, functions: list };
}

/** Folded stacks (`root;caller;leaf value`) for flame-graph tools; value in ns of CPU or wall time. */
export function collapsed(profiles: readonly IndexedProfile[], scope: Scope, value: TimeKind): string[] {
  const { tables } = costByStack(profiles, scope);
  const metric = timeOf(value);
  const lines = new Map<string, number>();
  for (const [table, stacks] of tables) {
    for (const [stackId, cost] of stacks) {
      const v = metric(cost);
      if (v <= 0) continue;
      const key = Array.from(table.stacks[stackId], (id) => {
        const f = table.frames[id];
        return `${f.name.replace(/[;\s]+/g, '_')}${f.file ? ` (${f.file}:${f.line})` : ''}`.replace(/;/g, '_');
      })
        .reverse()
        .join(';');
      lines.set(key, (lines.get(key) ?? 0) + v);
    }
  }
  return [...lines.entries()].sort((a, b) => b[1] - a[1]).map(([stack, v]) => `${stack} ${v}`);
}

/**
 * A flame graph node, in the hierarchical form flame-graph renderers take
 * (`name`, `value`, `children`), with the frame's file and line and its self time.
 */
export interface FlameNode {
  name: string;
  file: string;
  line: number;
  /** Time in this node and below, ns. */
  value: number;
  /** Time in this node itself, ns. */
  self: number;
  children: FlameNode[];
}

export interface FlameGraphOptions {
  /** Nodes under this share of the whole are left out (their time stays in their parent's). Default 0.0005. */
  minShare?: number;
}

/** The flame graph of `scope` weighted by CPU or wall time; the root is `all`. */
export function flameGraph(profiles: readonly IndexedProfile[], scope: Scope, value: TimeKind, options: FlameGraphOptions = {}): FlameNode {
  const { tables } = costByStack(profiles, scope);
  const metric = timeOf(value);
  interface Building {
    node: FlameNode;
    /** Children by frame (name, file and line), equal across frame tables. */
    kids: Map<string, Building>;
  }
  const root: Building = { node: { name: 'all', file: '', line: 0, value: 0, self: 0, children: [] }, kids: new Map() };
  for (const [table, stacks] of tables) {
    const keys: (string | undefined)[] = [];
    for (const [stackId, cost] of stacks) {
      const v = metric(cost);
      if (v <= 0) continue;
      const stack = table.stacks[stackId];
      let at = root;
      at.node.value += v;
      for (let depth = stack.length - 1; depth >= 0; depth--) {
        const frame = table.frames[stack[depth]];
        const key = (keys[stack[depth]] ??= `${frame.name}\u0000${frame.file}\u0000${frame.line}`);
        let next = at.kids.get(key);
        if (next === undefined) {
          next = { node: { name: frame.name, file: frame.file, line: frame.line, value: 0, self: 0, children: [] }, kids: new Map() };
          at.kids.set(key, next);
        }
        next.node.value += v;
        at = next;
      }
      at.node.self += v;
    }
  }
  const min = root.node.value * (options.minShare ?? 0.0005);
  const finish = (b: Building): FlameNode => {
    b.node.children = [...b.kids.values()].filter((k) => k.node.value >= min && k.node.value > 0).map(finish);
    return b.node;
  };
  return finish(root);
}
