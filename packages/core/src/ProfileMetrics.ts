import { performance } from 'node:perf_hooks';
import { metrics } from '@opentelemetry/api';
import type { Attributes, Counter, Meter, MeterProvider } from '@opentelemetry/api';
import type { Profile } from 'pprof-format';
import { logger } from './diag';
import { costByEndpoint, FrameTable, functionKey, hotspots, indexProfile, sampleTotals, TAG_SERVICE_VERSION } from '@spanprof/profile';
import type { FunctionCost } from '@spanprof/profile';
import { resolveMetricsOptions } from './options';
import type { ResolvedMetricsOptions } from './options';
import { ExportResultCode } from '@spanprof/exporter-base';
import type { ExportResult, ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';
import type { ProfileMetricsOptions } from './types';
import { VERSION } from './version';

/** The instrumentation scope of the metrics. */
const METER_NAME = '@spanprof/core';

const ATTR_FUNCTION_NAME = 'code.function.name';
const ATTR_FILE_PATH = 'code.file.path';
const ATTR_ENDPOINT = 'spanprof.trace.endpoint';

/** The series that sums what a cardinality bound left out. */
const OTHER = '(other)';
/** Endpoints that ever get a series of their own; later ones go to `(other)`. */
const MAX_ENDPOINT_SERIES = 100;
/** Functions that ever get a series of their own, as a multiple of `topFunctions`. */
const FUNCTION_SERIES_FACTOR = 4;

type RecordValue = (value: number, attributes: Attributes) => void;

interface Instruments {
  functionCpu: Counter;
  endpointCpu: Counter;
  endpointWall: Counter;
  endpointRequests: Counter;
  heapInUse: RecordValue;
  heapObjects: RecordValue;
}

/**
 * Records metrics of every collected batch through the OpenTelemetry metrics
 * API, so the application's own MeterProvider and metric exporter ship them:
 * self CPU time of the top functions, CPU and wall time and requests per
 * endpoint, heap in use. Every attribute set is bounded (see the README's
 * "Profiling metrics"). With the `metrics` option on, the session records each
 * batch once it is handed to the exporters; a fault is warned about once
 * (SPANPROF_W009) and affects no export. It can also be given as an exporter.
 */
export class ProfileMetrics implements ProfileExporter {
  private readonly options: ResolvedMetricsOptions;
  private instruments: Instruments | undefined;
  private instrumentsOf: MeterProvider | undefined;
  /** Functions (`functionKey`: name and path) that have a series; at most FUNCTION_SERIES_FACTOR × topFunctions. */
  private readonly functionSeries = new Set<string>();
  /** Endpoints that have a series; at most MAX_ENDPOINT_SERIES. */
  private readonly endpointSeries = new Set<string>();
  private shutDown = false;
  private recordMillis = 0;

  constructor(options: ProfileMetricsOptions = {}) {
    this.options = resolveMetricsOptions(options);
  }

  /**
   * Records the metrics of one batch (what the session calls after each
   * collection). Throws when recording fails; the session warns (SPANPROF_W009).
   */
  record(batch: ProfileBatch): void {
    if (this.shutDown) return;
    const began = performance.now();
    try {
      this.recordBatch(batch);
    } finally {
      this.recordMillis = performance.now() - began;
    }
  }

  /** `record` as a `ProfileExporter`, for passing it in `exporter` (the `metrics` option is the usual way). */
  export(batch: ProfileBatch): Promise<ExportResult> {
    if (this.shutDown) return Promise.resolve({ code: ExportResultCode.FAILED, error: new Error('ProfileMetrics is shut down') });
    try {
      this.record(batch);
      return Promise.resolve({ code: ExportResultCode.SUCCESS });
    } catch (err) {
      logger.debug('profiling metrics could not be recorded', err);
      return Promise.resolve({ code: ExportResultCode.FAILED, error: new Error(`profiling metrics could not be recorded: ${String(err)}`) });
    }
  }

  /** How long recording the last batch took, in milliseconds (the event-loop time it costs per collection). */
  get lastRecordMillis(): number {
    return this.recordMillis;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.shutDown = true;
    return Promise.resolve();
  }

  private recordBatch(batch: ProfileBatch): void {
    const instruments = this.currentInstruments();
    const base: Attributes = {};
    const version = batch.tags[TAG_SERVICE_VERSION];
    if (version !== undefined && version !== '') base[TAG_SERVICE_VERSION] = version;
    for (const { kind, profile } of batch.profiles) {
      if (kind === 'wall') this.recordWall(profile, base, instruments);
      else if (kind === 'heap') recordHeap(profile, base, instruments);
    }
    // Batches built by older code have no requests.
    for (const [endpoint, count] of Object.entries(batch.requests ?? {})) {
      if (count > 0) instruments.endpointRequests.add(count, { ...base, [ATTR_ENDPOINT]: this.endpointSeriesOf(endpoint) });
    }
  }

  /** The instruments of the MeterProvider to use now (the global one may change after start). */
  private currentInstruments(): Instruments {
    const provider = this.options.meterProvider ?? metrics.getMeterProvider();
    if (this.instruments === undefined || this.instrumentsOf !== provider) {
      this.instruments = createInstruments(provider.getMeter(METER_NAME, VERSION));
      this.instrumentsOf = provider;
    }
    return this.instruments;
  }

  /**
   * CPU and wall time per endpoint, and self CPU per function, read through
   * the profile model the views use, so a function's series shows the same
   * self CPU as its row in `spanprof hotspots` and the viewer.
   */
  private recordWall(profile: Profile, base: Attributes, instruments: Instruments): void {
    const indexed = [indexProfile('', profile, new FrameTable())];
    for (const [endpoint, cost] of costByEndpoint(indexed)) {
      const attributes = endpoint === '' ? base : { ...base, [ATTR_ENDPOINT]: this.endpointSeriesOf(endpoint) };
      if (cost.cpuNanos > 0) instruments.endpointCpu.add(cost.cpuNanos * 1e-9, attributes);
      if (cost.wallNanos > 0) instruments.endpointWall.add(cost.wallNanos * 1e-9, attributes);
    }
    this.recordFunctions(hotspots(indexed, { kind: 'all' }, 'cpu').functions, base, instruments);
  }

  /** The top functions by self CPU time get a series each (within the bound across periods); the rest `(other)`. */
  private recordFunctions(ranked: readonly FunctionCost[], base: Attributes, instruments: Instruments): void {
    const top = this.options.topFunctions;
    const everMax = FUNCTION_SERIES_FACTOR * top;
    let other = 0;
    for (let i = 0; i < ranked.length; i++) {
      const fn = ranked[i];
      const cpu = fn.self.cpuNanos;
      if (cpu <= 0) break;
      const key = functionKey(fn.name, fn.file);
      if (i < top && (this.functionSeries.has(key) || this.functionSeries.size < everMax)) {
        this.functionSeries.add(key);
        const attributes: Attributes = { ...base, [ATTR_FUNCTION_NAME]: fn.name };
        if (fn.file !== '') attributes[ATTR_FILE_PATH] = fn.file;
        instruments.functionCpu.add(cpu * 1e-9, attributes);
      } else {
        other += cpu;
      }
    }
    if (other > 0) instruments.functionCpu.add(other * 1e-9, { ...base, [ATTR_FUNCTION_NAME]: OTHER });
  }

  /** The endpoint's own series while fewer than MAX_ENDPOINT_SERIES exist, else `(other)`. */
  private endpointSeriesOf(endpoint: string): string {
    if (endpoint === OTHER || this.endpointSeries.has(endpoint)) return endpoint;
    if (this.endpointSeries.size >= MAX_ENDPOINT_SERIES) return OTHER;
    this.endpointSeries.add(endpoint);
    return endpoint;
  }
}

function createInstruments(meter: Meter): Instruments {
  return {
    functionCpu: meter.createCounter('spanprof.function.cpu.time', {
      unit: 's',
      description: 'Self CPU time of a function (the leaf frame of the samples), from the span-labelled wall profile',
    }),
    endpointCpu: meter.createCounter('spanprof.endpoint.cpu.time', {
      unit: 's',
      description: 'CPU time of the samples taken in the requests of an endpoint (no endpoint attribute: samples outside any span)',
    }),
    endpointWall: meter.createCounter('spanprof.endpoint.wall.time', {
      unit: 's',
      description: 'Wall time of the samples taken in the requests of an endpoint (no endpoint attribute: samples outside any span)',
    }),
    endpointRequests: meter.createCounter('spanprof.endpoint.requests', {
      unit: '{request}',
      description: 'Requests (local root spans) of an endpoint that ended',
    }),
    heapInUse: gauge(meter, 'spanprof.heap.in_use', 'By', 'Heap in use, estimated from V8 allocation sampling at the last collection'),
    heapObjects: gauge(meter, 'spanprof.heap.object.count', '{object}', 'Heap objects in use, estimated from V8 allocation sampling at the last collection'),
  };
}

/** A synchronous gauge; where the MeterProvider lacks one, an observable gauge reporting the last value. */
function gauge(meter: Meter, name: string, unit: string, description: string): RecordValue {
  if (typeof meter.createGauge === 'function') {
    const instrument = meter.createGauge(name, { unit, description });
    return (value, attributes) => instrument.record(value, attributes);
  }
  let last: { value: number; attributes: Attributes } | undefined;
  meter.createObservableGauge(name, { unit, description }).addCallback((result) => {
    if (last !== undefined) result.observe(last.value, last.attributes);
  });
  return (value, attributes) => {
    last = { value, attributes };
  };
}

function recordHeap(profile: Profile, base: Attributes, instruments: Instruments): void {
  const totals = sampleTotals(profile);
  const bytes = totals.get('inuse_space');
  const objects = totals.get('inuse_objects');
  if (bytes !== undefined) instruments.heapInUse(bytes, base);
  if (objects !== undefined) instruments.heapObjects(objects, base);
}
