import type { Cost, TimeKind } from './analysis';
import { functionKey, portablePath } from './functions';
import type { IndexedProfile } from './ProfileIndex';
import { NONE } from './ProfileIndex';

/**
 * Function cost compared between two selections of profiles (say two
 * deployments: `service.version=1.4.0` and `1.5.0`).
 *
 * Each side sums self time (the samples whose leaf frame is the function) by
 * function, as `hotspots` does (name and path, see `functionKey`). A function
 * found on both sides under the same path is one row. The rest are matched by
 * name and `portablePath` (the path inside its package under `node_modules`,
 * else the file name), since the directory often carries the release; a
 * function's line is never part of it, as it moves with every edit.
 */

/** One side of a comparison. */
export interface SideSummary {
  profiles: number;
  total: Cost;
  /** Requests that ended in the selected periods. */
  requests: number;
  /**
   * `counted`: the processor's request counts stored in the profiles;
   * `sampled`: one side's profiles carry none, so on both sides the distinct
   * local root spans seen in samples (a floor: requests that got no sample are missed).
   */
  requestSource: 'counted' | 'sampled';
}

export interface FunctionChange {
  name: string;
  /** The part of the path that matched the sides: inside its package under `node_modules`, else the file name. */
  file: string;
  /** The function's full path, in head (in base when head has none). */
  path: string;
  /** Self time, ns, in each selection. */
  baseNanos: number;
  headNanos: number;
  /** Share of the selection's time, 0..1. */
  baseShare: number;
  headShare: number;
  /** headShare - baseShare. */
  shareChange: number;
  /** Self time per request, ns (undefined when the side has no requests). */
  basePerRequest?: number;
  headPerRequest?: number;
  /** headPerRequest - basePerRequest, ns. */
  perRequestChange?: number;
}

export interface EndpointComparison {
  endpoint: string;
  base: SideSummary;
  head: SideSummary;
  /** Functions ordered by the size of their change in time per request (by share when requests are unknown). */
  functions: FunctionChange[];
}

export interface Comparison {
  value: TimeKind;
  base: SideSummary;
  head: SideSummary;
  /** Functions ordered by the size of their change in share of all time. */
  functions: FunctionChange[];
  /** Endpoints found in both selections, costliest in head first. */
  endpoints: EndpointComparison[];
}

export interface CompareOptions {
  /** Weigh by CPU (default) or wall time. */
  value?: TimeKind;
  /** Functions kept per list. Default 20. */
  limit?: number;
}

interface Side {
  total: Cost;
  requests: number;
  roots: Set<string>;
  /** Self time by function (`functionKey`). */
  functions: Map<string, SelfTime>;
}

interface SelfTime {
  name: string;
  file: string;
  nanos: number;
}

const NO_ENDPOINT = '';

function addSelf(side: Side, key: string, name: string, file: string, nanos: number): void {
  const entry = side.functions.get(key);
  if (entry === undefined) side.functions.set(key, { name, file, nanos });
  else entry.nanos += nanos;
}

/** Adds sample `i` of `p` to the side's total and its local roots. */
function count(side: Side, p: IndexedProfile, i: number): void {
  side.total.cpuNanos += p.cpu[i];
  side.total.wallNanos += p.wall[i];
  side.total.samples += p.count[i];
  if (p.root[i] !== NONE) side.roots.add(p.labels.get(p.root[i]));
}

/** Self time by function, per endpoint (NO_ENDPOINT for samples outside spans) and overall. */
function summarize(profiles: readonly IndexedProfile[], value: TimeKind): { all: Side; endpoints: Map<string, Side> } {
  const newSide = (): Side => ({ total: { cpuNanos: 0, wallNanos: 0, samples: 0 }, requests: 0, roots: new Set(), functions: new Map() });
  const all = newSide();
  const endpoints = new Map<string, Side>();
  const sideOf = (endpoint: string): Side => {
    let s = endpoints.get(endpoint);
    if (s === undefined) {
      s = newSide();
      endpoints.set(endpoint, s);
    }
    return s;
  };
  for (const p of profiles) {
    for (const [endpoint, n] of Object.entries(p.requests)) {
      sideOf(endpoint).requests += n;
      all.requests += n;
    }
    for (let i = 0; i < p.size; i++) {
      const v = value === 'cpu' ? p.cpu[i] : p.wall[i];
      const side = sideOf(p.endpoint[i] === NONE ? NO_ENDPOINT : p.labels.get(p.endpoint[i]));
      count(all, p, i);
      count(side, p, i);
      if (v <= 0) continue;
      const leaf = p.frames.stacks[p.stack[i]][0];
      if (leaf === undefined) continue;
      const fn = p.frames.functions[p.frames.frames[leaf].fn];
      addSelf(all, fn.key, fn.name, fn.file, v);
      addSelf(side, fn.key, fn.name, fn.file, v);
    }
  }
  return { all, endpoints };
}

/**
 * Requests of each side: the processor's counts when both sides have them, else
 * local roots seen in samples on both sides (never one of each: they differ in kind).
 */
function requestsOf(base: Side, head: Side): { base: number; head: number; source: SideSummary['requestSource'] } {
  if (base.requests > 0 && head.requests > 0) return { base: base.requests, head: head.requests, source: 'counted' };
  return { base: base.roots.size, head: head.roots.size, source: 'sampled' };
}

function summaries(base: Side, head: Side, baseProfiles: number, headProfiles: number): { base: SideSummary; head: SideSummary } {
  const r = requestsOf(base, head);
  return {
    base: { profiles: baseProfiles, total: base.total, requests: r.base, requestSource: r.source },
    head: { profiles: headProfiles, total: head.total, requests: r.head, requestSource: r.source },
  };
}

function changes(base: Side, head: Side, value: TimeKind, perRequest: boolean): FunctionChange[] {
  const baseTotal = value === 'cpu' ? base.total.cpuNanos : base.total.wallNanos;
  const headTotal = value === 'cpu' ? head.total.cpuNanos : head.total.wallNanos;
  const { base: baseRequests, head: headRequests } = requestsOf(base, head);
  const list: FunctionChange[] = [];
  for (const { name, file, path, base: baseNanos, head: headNanos } of matchFunctions(base.functions, head.functions)) {
    const baseShare = baseTotal > 0 ? baseNanos / baseTotal : 0;
    const headShare = headTotal > 0 ? headNanos / headTotal : 0;
    const change: FunctionChange = { name, file, path, baseNanos, headNanos, baseShare, headShare, shareChange: headShare - baseShare };
    if (perRequest && baseRequests > 0 && headRequests > 0) {
      change.basePerRequest = baseNanos / baseRequests;
      change.headPerRequest = headNanos / headRequests;
      change.perRequestChange = change.headPerRequest - change.basePerRequest;
    }
    list.push(change);
  }
  return list;
}

/**
 * Pairs the functions of two sides: the same function (name and path) first.
 * The rest are matched with each other by name and portable path (a function
 * whose release directory changed), each side's summed; a function found on
 * one side only is a row of its own, so a removed or added one shows.
 */
function matchFunctions(base: Map<string, SelfTime>, head: Map<string, SelfTime>): { name: string; file: string; path: string; base: number; head: number }[] {
  type Row = { name: string; file: string; path: string; base: number; head: number };
  const rows: Row[] = [];
  const portable = (fn: SelfTime): string => (fn.file === '' ? '' : portablePath(fn.file));
  for (const [key, fn] of base) {
    const other = head.get(key);
    if (other !== undefined) rows.push({ name: fn.name, file: portable(fn), path: fn.file, base: fn.nanos, head: other.nanos });
  }
  const rest = new Map<string, Row>();
  const addRest = (fn: SelfTime, side: 'base' | 'head'): void => {
    const file = portable(fn);
    const key = functionKey(fn.name, file);
    let row = rest.get(key);
    if (row === undefined) {
      row = { name: fn.name, file, path: fn.file, base: 0, head: 0 };
      rest.set(key, row);
      rows.push(row);
    }
    row[side] += fn.nanos;
    if (side === 'head') row.path = fn.file;
  };
  for (const [key, fn] of base) if (!head.has(key)) addRest(fn, 'base');
  for (const [key, fn] of head) if (!base.has(key)) addRest(fn, 'head');
  return rows;
}

/** Compares function cost between the `base` and `head` selections, overall and endpoint by endpoint. */
export function compare(base: readonly IndexedProfile[], head: readonly IndexedProfile[], options: CompareOptions = {}): Comparison {
  const value = options.value ?? 'cpu';
  const limit = options.limit ?? 20;
  const b = summarize(base, value);
  const h = summarize(head, value);
  const byShare = (x: FunctionChange, y: FunctionChange): number => Math.abs(y.shareChange) - Math.abs(x.shareChange);
  const byPerRequest = (x: FunctionChange, y: FunctionChange): number => Math.abs(y.perRequestChange ?? 0) - Math.abs(x.perRequestChange ?? 0) || byShare(x, y);
  const endpoints: EndpointComparison[] = [];
  for (const [endpoint, headSide] of h.endpoints) {
    const baseSide = b.endpoints.get(endpoint);
    if (endpoint === NO_ENDPOINT || baseSide === undefined) continue;
    endpoints.push({
      endpoint,
      ...summaries(baseSide, headSide, base.length, head.length),
      functions: changes(baseSide, headSide, value, true).sort(byPerRequest).slice(0, limit),
    });
  }
  const time = (c: Cost): number => (value === 'cpu' ? c.cpuNanos : c.wallNanos);
  endpoints.sort((x, y) => time(y.head.total) - time(x.head.total));
  return {
    value,
    ...summaries(b.all, h.all, base.length, head.length),
    functions: changes(b.all, h.all, value, true).sort(byShare).slice(0, limit),
    endpoints,
  };
}
