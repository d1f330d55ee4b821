import { logger } from './diag';
import { booleanOption as checkBoolean, integerOption as checkInteger, warnOption } from '@spanprof/exporter-base';
import type { MeterProvider } from '@opentelemetry/api';
import type { ContextTrackingMode, EventOptions, HeapOptions, ProfileMetricsOptions, ProfilerOptions } from './types';
import type { EventSources } from './events/IoEvents';

export const DEFAULT_SAMPLING_INTERVAL_MICROS = 10101;
export const DEFAULT_UPLOAD_PERIOD_MILLIS = 60000;
export const DEFAULT_EXPORT_TIMEOUT_MILLIS = 30000;
export const DEFAULT_MIN_FLUSH_INTERVAL_MILLIS = 1000;
export const DEFAULT_HEAP_INTERVAL_BYTES = 512 * 1024;
export const DEFAULT_HEAP_STACK_DEPTH = 64;
export const DEFAULT_TOP_FUNCTIONS = 20;
export const DEFAULT_BLOCK_THRESHOLD_MILLIS = 50;
export const DEFAULT_EVENT_THRESHOLD_MILLIS = 1;

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  samplingIntervalMicros: number;
  uploadPeriodMillis: number;
  exportTimeoutMillis: number;
  minFlushIntervalMillis: number;
  cpuTime: boolean;
  sourceMaps: boolean;
  heap: Required<HeapOptions> | false;
  tags: Record<string, string>;
  contextTracking: ContextTrackingMode;
  /** 0: off. */
  blockThresholdMillis: number;
  /** The I/O and GC events, or false when off. */
  events: { thresholdMillis: number; sources: EventSources } | false;
  /** The `metrics` option as given when it is on (checked by `resolveMetricsOptions`), else false. */
  metrics: ProfileMetricsOptions | false;
}

/** `ProfileMetricsOptions` with defaults applied; `meterProvider` undefined means the global one. */
export interface ResolvedMetricsOptions {
  meterProvider: MeterProvider | undefined;
  topFunctions: number;
}

function warn(option: string, value: unknown, accepted: string, used: unknown): void {
  warnOption(option, value, accepted, JSON.stringify(used) ?? String(used), logger);
}

const integerOption = (option: string, value: unknown, fallback: number, min: number, max: number): number =>
  checkInteger(option, value, fallback, min, max, logger);
const booleanOption = (option: string, value: unknown, fallback: boolean): boolean => checkBoolean(option, value, fallback, logger);
export { integerOption };

function tagsOption(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    warn('tags', value, 'an object of string values', {});
    return {};
  }
  const tags: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') tags[key] = String(v);
    else warn(`tags.${key}`, v, 'a string', '(left out)');
  }
  return tags;
}

function metricsOption(value: unknown): ProfileMetricsOptions | false {
  if (value === undefined || value === false) return false;
  if (value === true) return {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  warn('metrics', value, 'true, false or { meterProvider, topFunctions }', false);
  return false;
}

/** Checks the options of `ProfileMetrics`: each wrong value warned about once, then defaulted or clamped. */
export function resolveMetricsOptions(options: ProfileMetricsOptions = {}): ResolvedMetricsOptions {
  let meterProvider: MeterProvider | undefined;
  const given: unknown = options.meterProvider;
  if (given !== undefined) {
    if (typeof given === 'object' && given !== null && typeof (given as MeterProvider).getMeter === 'function') meterProvider = given as MeterProvider;
    else {
      // Never stringify an arbitrary object (it may be circular): name its kind.
      const shown = given === null ? null : typeof given === 'object' || typeof given === 'function' ? `a ${typeof given} without getMeter` : given;
      warn('metrics.meterProvider', shown, 'a MeterProvider (an object with getMeter)', '(the global MeterProvider)');
    }
  }
  return {
    meterProvider,
    topFunctions: integerOption('metrics.topFunctions', options.topFunctions, DEFAULT_TOP_FUNCTIONS, 1, 200),
  };
}

function blockThresholdOption(value: unknown): number {
  if (value === 0) return 0;
  if (value === undefined) return DEFAULT_BLOCK_THRESHOLD_MILLIS;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 10 && value <= 60_000) return value;
  warn('blockThresholdMillis', value, '0 (off), or a whole number of milliseconds from 10 to 60000', DEFAULT_BLOCK_THRESHOLD_MILLIS);
  return DEFAULT_BLOCK_THRESHOLD_MILLIS;
}

const EVENT_SOURCES = ['fs', 'dns', 'net', 'http', 'gc'] as const;

function eventsOption(value: unknown): ResolvedOptions['events'] {
  if (value === false) return false;
  let given: EventOptions = {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) given = value;
  else if (value !== undefined && value !== true) warn('events', value, 'true, false or { thresholdMillis, fs, dns, net, http, gc }', true);
  const sources = {} as EventSources;
  for (const source of EVENT_SOURCES) sources[source] = booleanOption(`events.${source}`, given[source], true);
  return { thresholdMillis: integerOption('events.thresholdMillis', given.thresholdMillis, DEFAULT_EVENT_THRESHOLD_MILLIS, 0, 60_000), sources };
}

const TRACKING_MODES: readonly ContextTrackingMode[] = ['auto', 'async-frame', 'async-hooks'];

export function resolveOptions(options: ProfilerOptions = {}): ResolvedOptions {
  let heap: ResolvedOptions['heap'] = false;
  const heapOption: unknown = options.heap;
  if (heapOption === undefined || heapOption === true || (typeof heapOption === 'object' && heapOption !== null)) {
    const h = (typeof heapOption === 'object' ? heapOption : {}) as HeapOptions;
    heap = {
      intervalBytes: integerOption('heap.intervalBytes', h.intervalBytes, DEFAULT_HEAP_INTERVAL_BYTES, 1024, 1 << 30),
      stackDepth: integerOption('heap.stackDepth', h.stackDepth, DEFAULT_HEAP_STACK_DEPTH, 1, 1024),
      oomProfile: booleanOption('heap.oomProfile', h.oomProfile, true),
    };
  } else if (heapOption !== false) {
    warn('heap', heapOption, 'true, false or { intervalBytes, stackDepth, oomProfile }', true);
    heap = { intervalBytes: DEFAULT_HEAP_INTERVAL_BYTES, stackDepth: DEFAULT_HEAP_STACK_DEPTH, oomProfile: true };
  }
  let contextTracking: ContextTrackingMode = 'auto';
  if (options.contextTracking !== undefined) {
    if (TRACKING_MODES.includes(options.contextTracking)) contextTracking = options.contextTracking;
    else warn('contextTracking', options.contextTracking, TRACKING_MODES.join(', '), 'auto');
  }
  return {
    // 100 µs (10 kHz) is already far past a sane production rate; 1 s is the slowest useful one.
    samplingIntervalMicros: integerOption('samplingIntervalMicros', options.samplingIntervalMicros, DEFAULT_SAMPLING_INTERVAL_MICROS, 100, 1_000_000),
    uploadPeriodMillis: integerOption('uploadPeriodMillis', options.uploadPeriodMillis, DEFAULT_UPLOAD_PERIOD_MILLIS, 1000, 3_600_000),
    exportTimeoutMillis: integerOption('exportTimeoutMillis', options.exportTimeoutMillis, DEFAULT_EXPORT_TIMEOUT_MILLIS, 100, 600_000),
    minFlushIntervalMillis: integerOption('minFlushIntervalMillis', options.minFlushIntervalMillis, DEFAULT_MIN_FLUSH_INTERVAL_MILLIS, 0, 3_600_000),
    cpuTime: booleanOption('cpuTime', options.cpuTime, true),
    sourceMaps: booleanOption('sourceMaps', options.sourceMaps, true),
    heap,
    tags: tagsOption(options.tags),
    contextTracking,
    blockThresholdMillis: blockThresholdOption(options.blockThresholdMillis),
    events: eventsOption(options.events),
    metrics: metricsOption(options.metrics),
  };
}
