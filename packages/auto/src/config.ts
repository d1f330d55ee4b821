import { diag } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { FileExporter } from '@spanprof/core';
import { BOOLEAN_VALUES, envString, parseBoolean, parsePositiveInteger, warnConfig } from '@spanprof/exporter-base';
import type { ProfileExporter } from '@spanprof/exporter-base';
import { DatadogProfileExporter } from '@spanprof/exporter-datadog';
import { OTLPProfileExporter } from '@spanprof/exporter-otlp';
import { PyroscopeExporter } from '@spanprof/exporter-pyroscope';
import { ProfilingSpanProcessor } from '@spanprof/opentelemetry';
import type { ProfilingSpanProcessorOptions } from '@spanprof/opentelemetry';

const logger = diag.createComponentLogger({ namespace: '@spanprof/auto' });

/** The exporters `SPANPROF_EXPORTER` can name. */
export const EXPORTER_NAMES = ['file', 'otlp', 'pyroscope', 'datadog'] as const;
export type ExporterName = (typeof EXPORTER_NAMES)[number];

/** What the `SPANPROF_*` variables ask for, after checking them. */
export interface SpanprofEnvConfig {
  /** `SPANPROF_ENABLED`; default true. */
  enabled: boolean;
  /** `SPANPROF_EXPORTER`, in order, without repeats; default `['file']`. */
  exporters: ExporterName[];
  /** `SPANPROF_PROFILES_DIR`, for the file exporter; default its own (`./profiles`). */
  profilesDir?: string;
  /**
   * `SPANPROF_SAMPLING_INTERVAL_MICROS`, `SPANPROF_UPLOAD_PERIOD_MILLIS`, `SPANPROF_CPU_TIME`, `SPANPROF_HEAP`, `SPANPROF_OOM_PROFILE`,
   * `SPANPROF_METRICS` (profiling metrics to the global MeterProvider; default false),
   * `SPANPROF_BLOCK_THRESHOLD_MILLIS` (0: off), `SPANPROF_EVENTS`, `SPANPROF_EVENT_THRESHOLD_MILLIS`.
   */
  options: Pick<
    ProfilingSpanProcessorOptions,
    'samplingIntervalMicros' | 'uploadPeriodMillis' | 'cpuTime' | 'heap' | 'metrics' | 'sourceMaps' | 'blockThresholdMillis' | 'events'
  >;
  /**
   * `SPANPROF_SHUTDOWN_TIMEOUT_MILLIS`: how long `@spanprof/auto/register`
   * gives the final profile and spans at exit; default 5000.
   */
  shutdownTimeoutMillis: number;
  /** One line per wrong value: the variable, what it accepts, and what is used instead. */
  problems: string[];
}

type Env = Record<string, string | undefined>;

/** Default of `SPANPROF_SHUTDOWN_TIMEOUT_MILLIS`. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MILLIS = 5000;

/** Every `SPANPROF_*` variable spanprof reads; any other is a typo, warned about. */
export const SPANPROF_VARIABLES = [
  'SPANPROF_ENABLED',
  'SPANPROF_EXPORTER',
  'SPANPROF_PROFILES_DIR',
  'SPANPROF_SAMPLING_INTERVAL_MICROS',
  'SPANPROF_UPLOAD_PERIOD_MILLIS',
  'SPANPROF_CPU_TIME',
  'SPANPROF_HEAP',
  'SPANPROF_OOM_PROFILE',
  'SPANPROF_SOURCE_MAPS',
  'SPANPROF_METRICS',
  'SPANPROF_BLOCK_THRESHOLD_MILLIS',
  'SPANPROF_EVENTS',
  'SPANPROF_EVENT_THRESHOLD_MILLIS',
  'SPANPROF_SHUTDOWN_TIMEOUT_MILLIS',
] as const;

/**
 * Reads the `SPANPROF_*` variables (no side effects; `profilingSpanProcessorFromEnv`
 * logs the problems). A wrong value never stops anything: the default applies
 * and the problem says which.
 */
export function readSpanprofEnv(env: Env = process.env): SpanprofEnvConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => envString(name, env);
  const bool = (name: string, fallback: boolean, fallbackText: string): boolean => {
    const v = value(name);
    if (v === undefined) return fallback;
    const parsed = parseBoolean(v);
    if (parsed !== undefined) return parsed;
    problems.push(`${name}=${JSON.stringify(v)}: expected ${BOOLEAN_VALUES}; ${fallbackText}`);
    return fallback;
  };
  const integer = (name: string): number | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    const parsed = parsePositiveInteger(v);
    if (parsed === undefined) problems.push(`${name}=${JSON.stringify(v)}: expected a positive integer; using the default`);
    return parsed;
  };

  const enabled = bool('SPANPROF_ENABLED', true, 'profiling stays on (the default)');
  const exporters: ExporterName[] = [];
  const listed = value('SPANPROF_EXPORTER');
  if (listed !== undefined) {
    const unknown: string[] = [];
    for (const raw of listed.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      if ((EXPORTER_NAMES as readonly string[]).includes(name)) {
        if (!exporters.includes(name as ExporterName)) exporters.push(name as ExporterName);
      } else {
        unknown.push(raw.trim());
      }
    }
    if (unknown.length > 0) {
      problems.push(
        `SPANPROF_EXPORTER: ${unknown.map((u) => JSON.stringify(u)).join(', ')} not known; accepted: ${EXPORTER_NAMES.join(', ')} (comma-separated); ${exporters.length > 0 ? `using ${exporters.join(',')}` : 'using file (the default)'}`,
      );
    }
  }
  if (exporters.length === 0) exporters.push('file');

  const options: SpanprofEnvConfig['options'] = {};
  const sampling = integer('SPANPROF_SAMPLING_INTERVAL_MICROS');
  if (sampling !== undefined) options.samplingIntervalMicros = sampling;
  const period = integer('SPANPROF_UPLOAD_PERIOD_MILLIS');
  if (period !== undefined) options.uploadPeriodMillis = period;
  if (value('SPANPROF_CPU_TIME') !== undefined) options.cpuTime = bool('SPANPROF_CPU_TIME', true, 'CPU time stays on (the default)');
  if (value('SPANPROF_SOURCE_MAPS') !== undefined) options.sourceMaps = bool('SPANPROF_SOURCE_MAPS', true, 'source maps stay on (the default)');
  if (value('SPANPROF_HEAP') !== undefined) options.heap = bool('SPANPROF_HEAP', true, 'the heap profile stays on (the default)');
  if (value('SPANPROF_OOM_PROFILE') !== undefined && options.heap !== false) {
    options.heap = { oomProfile: bool('SPANPROF_OOM_PROFILE', true, 'the heap profile at out of memory stays on (the default)') };
  }
  if (value('SPANPROF_METRICS') !== undefined) options.metrics = bool('SPANPROF_METRICS', false, 'profiling metrics stay off (the default)');
  // 0 turns these off, so it is accepted besides the positive integers.
  const zeroOr = (name: string): number | undefined => (value(name)?.trim() === '0' ? 0 : integer(name));
  const blockThreshold = zeroOr('SPANPROF_BLOCK_THRESHOLD_MILLIS');
  if (blockThreshold !== undefined) options.blockThresholdMillis = blockThreshold;
  const eventsOn = value('SPANPROF_EVENTS') === undefined ? true : bool('SPANPROF_EVENTS', true, 'I/O and GC events stay on (the default)');
  const eventThreshold = zeroOr('SPANPROF_EVENT_THRESHOLD_MILLIS');
  if (!eventsOn) options.events = false;
  else if (eventThreshold !== undefined) options.events = { thresholdMillis: eventThreshold };
  const shutdownTimeoutMillis = integer('SPANPROF_SHUTDOWN_TIMEOUT_MILLIS') ?? DEFAULT_SHUTDOWN_TIMEOUT_MILLIS;
  for (const name of Object.keys(env)) {
    if (!name.startsWith('SPANPROF_') || (SPANPROF_VARIABLES as readonly string[]).includes(name)) continue;
    const near = closest(name, SPANPROF_VARIABLES);
    problems.push(
      `${name} is not a spanprof variable and is ignored${near === undefined ? '.' : `; did you mean ${near}?`} Known: ${SPANPROF_VARIABLES.join(', ')}`,
    );
  }
  return { enabled, exporters, profilesDir: value('SPANPROF_PROFILES_DIR'), options, shutdownTimeoutMillis, problems };
}

/** The known name nearest to `name` by edit distance, if it is near enough to be a typo of it. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 5)) ? best : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

/** The span processor that stands in when profiling is off: it does nothing. */
export class DisabledProcessor {
  onStart(_span: unknown, _context: Context): void {}
  onEnd(_span: unknown): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A `ProfilingSpanProcessor` configured from the `SPANPROF_*` variables (each
 * exporter reads its own: `OTEL_EXPORTER_OTLP_*`, `PYROSCOPE_*`, `DD_*`), for
 * `new NodeSDK({ spanProcessors: [profilingSpanProcessorFromEnv()] })`.
 * `options` win over the environment. With `SPANPROF_ENABLED=false` it returns a
 * processor that does nothing. Problems are warned about once each
 * (`SPANPROF_W001`) and never stop the application.
 */
export function profilingSpanProcessorFromEnv(options: ProfilingSpanProcessorOptions = {}, env: Env = process.env): ProfilingSpanProcessor | DisabledProcessor {
  const config = readSpanprofEnv(env);
  for (const problem of config.problems) warnConfig(problem, logger);
  return processorFromConfig(config, options);
}

/** The processor a checked configuration asks for (`options` win); the disabled one when profiling is off. */
export function processorFromConfig(config: SpanprofEnvConfig, options: ProfilingSpanProcessorOptions = {}): ProfilingSpanProcessor | DisabledProcessor {
  if (!config.enabled) {
    logger.info('SPANPROF_ENABLED is false: profiling is off');
    return new DisabledProcessor();
  }
  const exporter = options.exporter ?? config.exporters.map((name) => createExporter(name, config));
  return new ProfilingSpanProcessor({ ...config.options, ...options, exporter });
}

function createExporter(name: ExporterName, config: SpanprofEnvConfig): ProfileExporter {
  switch (name) {
    case 'file':
      return new FileExporter(config.profilesDir !== undefined ? { directory: config.profilesDir } : {});
    case 'otlp':
      return new OTLPProfileExporter();
    case 'pyroscope':
      return new PyroscopeExporter();
    case 'datadog':
      return new DatadogProfileExporter();
  }
}
