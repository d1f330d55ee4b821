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

/** The kinds of profile spanprof collects: `events` is the period's events profile (`ProfileBatch.events`). */
export type ProfileKind = 'wall' | 'heap' | 'events';

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
  /** The wall and heap profiles (wall first), those that are enabled. */
  readonly profiles: readonly CollectedProfile[];
  /**
   * The period's events profile (`@spanprof/profile`'s `readEvents` reads it): the spans its
   * samples were taken in, with their names and times, and their local ancestors. Undefined
   * when there is none. Exporters that do not know it leave it alone.
   */
  readonly events?: CollectedProfile;
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
 * The exporters spanprof can make again in the process that sends the heap profile at out of
 * memory (the application's heap is full), by name: that process loads only these packages,
 * never a module a file names.
 */
export const KNOWN_EXPORTERS = {
  otlp: { module: '@spanprof/exporter-otlp', exportName: 'OTLPProfileExporter' },
  pyroscope: { module: '@spanprof/exporter-pyroscope', exportName: 'PyroscopeExporter' },
  datadog: { module: '@spanprof/exporter-datadog', exportName: 'DatadogProfileExporter' },
} as const;

/** The name of one of spanprof's own exporters (see `KNOWN_EXPORTERS`). */
export type KnownExporter = keyof typeof KNOWN_EXPORTERS;

/**
 * How to make an exporter like this one again in another process: which of spanprof's own
 * exporters it is, and its constructor options as JSON.
 */
export interface ExporterRecipe {
  readonly exporter: KnownExporter;
  readonly options: unknown;
}

/**
 * Receives every collected batch. Implementations never throw: failures are
 * reported through the result (and the OpenTelemetry `diag` logger).
 */
export interface ProfileExporter {
  export(batch: ProfileBatch): Promise<ExportResult>;
  /**
   * Exports at once, synchronously: called with the last period at the process's `exit` event
   * (after `process.exit()` or an uncaught error), when nothing asynchronous runs again. Optional:
   * the `FileExporter` has it; an exporter without it loses that period, which is warned about.
   */
  exportSync?(batch: ProfileBatch): ExportResult;
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
  /** How to make it again elsewhere (see `ExporterRecipe`); none: it is not. */
  recipe?(): ExporterRecipe | undefined;
}
