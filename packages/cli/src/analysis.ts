import type { Profile } from 'pprof-format';
import { LABEL_LOCAL_ROOT_SPAN_ID, LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT, LABEL_TRACE_ID } from '@spanprof/core';
import type { LoadedProfile } from './ProfileSet';

/** What part of the samples to look at. */
export type Scope =
  | { kind: 'all' }
  | { kind: 'span'; id: string }
  | { kind: 'trace'; id: string }
  | { kind: 'root'; id: string }
  | { kind: 'endpoint'; name: string };

/** Nanoseconds of CPU and wall time, and the sample count. */
export interface Cost {
  cpuNanos: number;
  wallNanos: number;
  samples: number;
}

export interface Frame {
  name: string;
  file: string;
  line: number;
}

/** One sample, resolved: leaf-first frames, labels and cost. */
interface ResolvedSample {
  frames: Frame[];
  labels: Record<string, string>;
  cost: Cost;
}

const zero = (): Cost => ({ cpuNanos: 0, wallNanos: 0, samples: 0 });
function add(into: Cost, c: Cost): void {
  into.cpuNanos += c.cpuNanos;
  into.wallNanos += c.wallNanos;
  into.samples += c.samples;
}

/** Calls `visit` for every sample of every profile, resolved. */
function eachSample(profiles: readonly LoadedProfile[], visit: (s: ResolvedSample) => void): void {
  for (const { profile } of profiles) {
    const strings = profile.stringTable.strings;
    const types = profile.sampleType.map((t) => strings[Number(t.type)]);
    const countIdx = types.indexOf('sample');
    const wallIdx = types.indexOf('wall');
    const cpuIdx = types.indexOf('cpu');
    const frameOf = frameResolver(profile);
    for (const sample of profile.sample) {
      const labels: Record<string, string> = {};
      for (const l of sample.label) {
        if (Number(l.str) !== 0) labels[strings[Number(l.key)]] = strings[Number(l.str)];
      }
      const v = sample.value;
      visit({
        frames: sample.locationId.map((id) => frameOf(Number(id))),
        labels,
        cost: {
          samples: countIdx < 0 ? 0 : Number(v[countIdx]),
          wallNanos: wallIdx < 0 ? 0 : Number(v[wallIdx]),
          cpuNanos: cpuIdx < 0 ? 0 : Number(v[cpuIdx]),
        },
      });
    }
  }
}

function frameResolver(profile: Profile): (locationId: number) => Frame {
  const strings = profile.stringTable.strings;
  const functions = new Map<number, { name: string; file: string }>();
  for (const f of profile.function) {
    functions.set(Number(f.id), { name: strings[Number(f.name)] ?? '?', file: strings[Number(f.filename)] ?? '' });
  }
  const frames = new Map<number, Frame>();
  for (const loc of profile.location) {
    const line = loc.line[0];
    const fn = line === undefined ? undefined : functions.get(Number(line.functionId));
    frames.set(Number(loc.id), { name: fn?.name ?? '?', file: fn?.file ?? '', line: line === undefined ? 0 : Number(line.line) });
  }
  const unknown: Frame = { name: '?', file: '', line: 0 };
  return (id) => frames.get(id) ?? unknown;
}

export function inScope(scope: Scope, labels: Record<string, string>): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'span':
      return labels[LABEL_SPAN_ID] === scope.id;
    case 'trace':
      return labels[LABEL_TRACE_ID] === scope.id;
    case 'root':
      return labels[LABEL_LOCAL_ROOT_SPAN_ID] === scope.id;
    case 'endpoint':
      return labels[LABEL_TRACE_ENDPOINT] === scope.name;
  }
}

export interface SpanCost extends Cost {
  spanId: string;
  traceId: string;
  localRootSpanId: string;
  endpoint: string;
}
export interface TraceCost extends Cost {
  traceId: string;
  endpoint: string;
  spans: number;
}
export interface EndpointCost extends Cost {
  endpoint: string;
  traces: number;
}

export interface Ranking {
  endpoints: EndpointCost[];
  traces: TraceCost[];
  spans: SpanCost[];
  /** All samples, and those with no span. */
  total: Cost;
  unattributed: Cost;
}

const byCost = (a: Cost, b: Cost): number => b.cpuNanos - a.cpuNanos || b.wallNanos - a.wallNanos;

/** CPU and wall time per span, per trace and per endpoint, costliest first. */
export function rank(profiles: readonly LoadedProfile[]): Ranking {
  const spans = new Map<string, SpanCost>();
  const traces = new Map<string, TraceCost & { spanIds: Set<string> }>();
  const endpoints = new Map<string, EndpointCost & { traceIds: Set<string> }>();
  const total = zero();
  const unattributed = zero();
  eachSample(profiles, ({ labels, cost }) => {
    add(total, cost);
    const spanId = labels[LABEL_SPAN_ID];
    if (spanId === undefined) {
      add(unattributed, cost);
      return;
    }
    const traceId = labels[LABEL_TRACE_ID] ?? '';
    const endpoint = labels[LABEL_TRACE_ENDPOINT] ?? '';
    let span = spans.get(spanId);
    if (span === undefined) {
      span = { spanId, traceId, localRootSpanId: labels[LABEL_LOCAL_ROOT_SPAN_ID] ?? '', endpoint, ...zero() };
      spans.set(spanId, span);
    }
    add(span, cost);
    let trace = traces.get(traceId);
    if (trace === undefined) {
      trace = { traceId, endpoint, spans: 0, spanIds: new Set(), ...zero() };
      traces.set(traceId, trace);
    }
    add(trace, cost);
    trace.spanIds.add(spanId);
    let ep = endpoints.get(endpoint);
    if (ep === undefined) {
      ep = { endpoint, traces: 0, traceIds: new Set(), ...zero() };
      endpoints.set(endpoint, ep);
    }
    add(ep, cost);
    ep.traceIds.add(traceId);
  });
  return {
    spans: [...spans.values()].sort(byCost),
    traces: [...traces.values()]
      .map(({ spanIds, ...t }) => ({ ...t, spans: spanIds.size }))
      .sort(byCost),
    endpoints: [...endpoints.values()]
      .map(({ traceIds, ...e }) => ({ ...e, traces: traceIds.size }))
      .sort(byCost),
    total,
    unattributed,
  };
}

export interface FunctionCost {
  name: string;
  file: string;
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

const frameKey = (f: Frame): string => `${f.name}\u0000${f.file}\u0000${f.line}`;

/** The functions that cost the most in `scope`, self and total, CPU and wall. */
export function hotspots(profiles: readonly LoadedProfile[], scope: Scope, sortBy: 'cpu' | 'wall' = 'cpu'): Hotspots {
  const functions = new Map<string, FunctionCost>();
  const total = zero();
  const seen = new Set<string>();
  eachSample(profiles, ({ frames, labels, cost }) => {
    if (!inScope(scope, labels)) return;
    add(total, cost);
    seen.clear();
    frames.forEach((frame, depth) => {
      const key = frameKey(frame);
      let fn = functions.get(key);
      if (fn === undefined) {
        fn = { name: frame.name, file: frame.file, line: frame.line, self: zero(), total: zero() };
        functions.set(key, fn);
      }
      if (depth === 0) add(fn.self, cost);
      // Recursion: a function counts once per sample in its total.
      if (!seen.has(key)) {
        seen.add(key);
        add(fn.total, cost);
      }
    });
  });
  const metric = sortBy === 'cpu' ? (c: Cost) => c.cpuNanos : (c: Cost) => c.wallNanos;
  const list = [...functions.values()].sort(
    (a, b) => metric(b.self) - metric(a.self) || metric(b.total) - metric(a.total),
  );
  return { scope, total, functions: list };
}

/** Folded stacks (`root;caller;leaf value`) for flame-graph tools; value in ns of CPU or wall time. */
export function collapsed(profiles: readonly LoadedProfile[], scope: Scope, value: 'cpu' | 'wall'): string[] {
  const stacks = new Map<string, number>();
  eachSample(profiles, ({ frames, labels, cost }) => {
    if (!inScope(scope, labels)) return;
    const v = value === 'cpu' ? cost.cpuNanos : cost.wallNanos;
    if (v <= 0) return;
    const key = frames
      .map((f) => `${f.name.replace(/[;\s]+/g, '_')}${f.file ? ` (${f.file}:${f.line})` : ''}`.replace(/;/g, '_'))
      .reverse()
      .join(';');
    stacks.set(key, (stacks.get(key) ?? 0) + v);
  });
  return [...stacks.entries()].sort((a, b) => b[1] - a[1]).map(([stack, v]) => `${stack} ${v}`);
}
