import type { MeterProvider } from '@opentelemetry/api';
import type { ProfileExporter } from '@spanprof/exporter-base';

/** Heap profiler settings. */
export interface HeapOptions {
  /** Average bytes allocated between two heap samples. Default 524288 (512 KiB). */
  intervalBytes?: number;
  /**
   * When the V8 heap nears its limit, write the heap profile (in use, with stacks) before the
   * process dies, into the `FileExporter`'s directory, tagged `spanprof.oom=true`. Needs a
   * `FileExporter` among the exporters. Default true.
   */
  oomProfile?: boolean;
  /** Deepest stack recorded for a heap sample. Default 64. */
  stackDepth?: number;
}

/** Which I/O waits and GC pauses become events of the events profile, and from how long. */
export interface EventOptions {
  /** Shortest event kept, ms (0: all). Default 1; accepted 0 to 60000. */
  thresholdMillis?: number;
  /** Asynchronous `fs` and `fs.promises` calls. Default true. */
  fs?: boolean;
  /** `dns.lookup` and `dns.promises.lookup`. Default true. */
  dns?: boolean;
  /** Outgoing TCP connects. Default true. */
  net?: boolean;
  /** Outgoing `http`/`https` requests, when no HTTP instrumentation makes client spans for them. Default true. */
  http?: boolean;
  /** Garbage-collection pauses. Default true. */
  gc?: boolean;
}

/** Profiling metrics through the OpenTelemetry metrics API (see `ProfileMetrics`). */
export interface ProfileMetricsOptions {
  /**
   * Where the metrics are recorded. Default: the global one
   * (`metrics.getMeterProvider()`), looked up at each collection, so a provider
   * registered after profiling started is used from the next collection on.
   */
  meterProvider?: MeterProvider;
  /**
   * Functions of each period with a series of their own in
   * `spanprof.function.cpu.time` (the top ones by self CPU time); the rest are
   * summed under `code.function.name = "(other)"`, and at most 4 × this many
   * functions ever get a series. Default 20; accepted 1 to 200 (clamped).
   */
  topFunctions?: number;
}

/**
 * How the profiler's sample context follows the active span.
 * - `auto`: AsyncContextFrame when the runtime has it active, else `async-hooks`.
 * - `async-frame`: the context rides in AsyncContextFrame (Node 24; Node 22 with
 *   `--experimental-async-context-frame`); refused with a warning where it is not active.
 * - `async-hooks`: one global slot updated at every async switch by `async_hooks`.
 */
export type ContextTrackingMode = 'auto' | 'async-frame' | 'async-hooks';

export interface ProfilerOptions {
  /** Where batches go. Default: one `FileExporter` writing to `./profiles`. */
  exporter?: ProfileExporter | ProfileExporter[];
  /** Mean time between two wall-time samples, in microseconds. Default 10101 (99 Hz). */
  samplingIntervalMicros?: number;
  /** Length of a collection period, in milliseconds. Default 60000. */
  uploadPeriodMillis?: number;
  /**
   * Show original files, lines and function names (TypeScript, bundles) where the application's
   * compiled files have source maps (`.js.map` beside them, or inline). The maps are read once, in
   * the background, from the application's directory (the nearest one above the entry script with
   * a `package.json`, `node_modules` left out); a missing or broken map leaves the compiled
   * location. Default true.
   */
  sourceMaps?: boolean;
  /** Record CPU time with every wall sample (`cpu/nanoseconds`). Default true. */
  cpuTime?: boolean;
  /** Heap profile (V8 allocation sampling): `false` to turn off. Default true. */
  heap?: boolean | HeapOptions;
  /** Tags added to every batch; they win over the resource's. Default none. */
  tags?: Record<string, string>;
  /** Time allowed for one export, in milliseconds. Default 30000. */
  exportTimeoutMillis?: number;
  /**
   * Least time between a collection and one made by `forceFlush()`, in milliseconds: a flush
   * sooner after the last collection only flushes the exporters, and the period goes on (stopping and
   * restarting the profiler pauses the event loop for tens of milliseconds; a serverless wrapper
   * flushes at every invocation). 0 collects at every flush. Default 1000; 0 to 3600000.
   */
  minFlushIntervalMillis?: number;
  /** How the sample context follows the active span. Default `auto`. */
  contextTracking?: ContextTrackingMode;
  /**
   * Record event-loop blocks: each time the loop does not turn for at least this many
   * milliseconds, an event in the events profile (its time, the requests in flight and queued
   * behind it); the functions and spans that blocked are the samples inside it. `0` turns it off.
   * Default 50; accepted 0, or 10 to 60000.
   */
  blockThresholdMillis?: number;
  /**
   * Record I/O waits (file system, DNS, outgoing TCP connects and HTTP requests) with the span
   * that started them, and GC pauses, as events of the events profile: `false` to turn off, or
   * options. Default on, each at least 1 ms.
   */
  events?: boolean | EventOptions;
  /**
   * Record metrics of every collected profile (CPU time per function and per
   * endpoint, wall time and requests per endpoint, heap in use) through the
   * OpenTelemetry metrics API: `true`, or options. Default false.
   */
  metrics?: boolean | ProfileMetricsOptions;
}
