import type { MeterProvider } from '@opentelemetry/api';
import type { Profile } from 'pprof-format';

/** Result codes of an export, numerically equal to OpenTelemetry's `ExportResultCode`. */
export enum ExportResultCode {
  SUCCESS = 0,
  FAILED = 1,
}

export interface ExportResult {
  code: ExportResultCode;
  error?: Error;
}

/** The kinds of profile spanprof collects. */
export type ProfileKind = 'wall' | 'heap';

/** One profile of a collection, decoded and encoded (gzipped pprof). */
export interface CollectedProfile {
  readonly kind: ProfileKind;
  /** The decoded profile, for exporters that translate it (OTLP, Datadog). */
  readonly profile: Profile;
  /** The same profile as a gzipped pprof message, for exporters that ship pprof as is. */
  readonly encoded: Uint8Array;
}

/** Everything one collection period produced. */
export interface ProfileBatch {
  /** Start of the period this batch covers. */
  readonly start: Date;
  /** End of the period this batch covers. */
  readonly end: Date;
  /** Profile-level tags: `service.name`, `service.version`, `host.name`, ... */
  readonly tags: Readonly<Record<string, string>>;
  /** One entry per profile kind that is enabled (wall first). */
  readonly profiles: readonly CollectedProfile[];
  /** Sequence number of the batch in this process, from 1. */
  readonly sequence: number;
  /**
   * Requests that ended in the period, by endpoint: local root spans counted when
   * they end, under the endpoint their samples carry (`trace_endpoint`, read
   * later, at collection at the latest, so a route a framework sets just after
   * the span ended counts).
   * At most 1000 endpoints per period; the others are summed under `(other)`.
   * Root spans with an empty endpoint are not counted. `{}` when none ended or
   * when no span processor drives the session. The wall profile carries the same
   * counts as pprof comments `spanprof.requests:<count>:<endpoint>`.
   */
  readonly requests: Readonly<Record<string, number>>;
}

/**
 * Receives every collected batch. Implementations never throw: failures are
 * reported through the result (and the OpenTelemetry `diag` logger).
 */
export interface ProfileExporter {
  export(batch: ProfileBatch): Promise<ExportResult>;
  /** Completes pending work; optional. */
  forceFlush?(): Promise<void>;
  /** Releases resources; called once, after the last export. */
  shutdown(): Promise<void>;
  /**
   * True when the exporter bounds its own pending work (dropping the oldest) and
   * settles every export itself (sent, given up, or failed by its own shutdown
   * deadline). The session then hands it every batch, without its cap of two
   * batches in flight or its export timeout, and shuts it down without first
   * waiting for its exports. The HTTP exporters work this way.
   */
  readonly boundsOwnQueue?: boolean;
}

/** Heap profiler settings. */
export interface HeapOptions {
  /** Average bytes allocated between two heap samples. Default 524288 (512 KiB). */
  intervalBytes?: number;
  /** Deepest stack recorded for a heap sample. Default 64. */
  stackDepth?: number;
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
  /** Record CPU time with every wall sample (`cpu/nanoseconds`). Default true. */
  cpuTime?: boolean;
  /** Heap profile (V8 allocation sampling): `false` to turn off. Default true. */
  heap?: boolean | HeapOptions;
  /** Tags added to every batch; they win over the resource's. Default none. */
  tags?: Record<string, string>;
  /** Time allowed for one export, in milliseconds. Default 30000. */
  exportTimeoutMillis?: number;
  /** How the sample context follows the active span. Default `auto`. */
  contextTracking?: ContextTrackingMode;
  /**
   * Record metrics of every collected profile (CPU time per function and per
   * endpoint, wall time and requests per endpoint, heap in use) through the
   * OpenTelemetry metrics API: `true`, or options. Default false.
   */
  metrics?: boolean | ProfileMetricsOptions;
}
