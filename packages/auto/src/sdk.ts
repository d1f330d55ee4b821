import { readFileSync } from 'node:fs';
import { getNodeAutoInstrumentations, getResourceDetectors } from '@opentelemetry/auto-instrumentations-node';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SpanprofContextManager } from '@spanprof/core';
import { codes, warnConfig } from '@spanprof/exporter-base';
import { processorFromConfig, readSpanprofEnv } from './config';
import { boundedFlush, logger, REGISTER_OWNER, traceProcessorsFromEnv, warn } from './shared';
import type { Env, SpanProcessor } from './shared';
import { shareWithWorkers } from './workers';

export { REGISTER_OWNER };

/** The bundle's SDK, once per process (`--require` and `--import` may both load it). */
const STARTED = Symbol.for('@spanprof/auto.started');
type GlobalWithStarted = typeof globalThis & { [STARTED]?: StartedBundle };

/** What `@spanprof/auto/register` started. */
export interface StartedBundle {
  /** The OpenTelemetry SDK, with auto-instrumentations, the trace exporters and the profiler. */
  readonly sdk: NodeSDK;
  /** Flushes the last profile and spans and stops; bounded by `SPANPROF_SHUTDOWN_TIMEOUT_MILLIS`; idempotent. */
  shutdown(): Promise<void>;
}

/** OpenTelemetry's bundle's detectors (its `all`) but Google Cloud's, in its order. */
const ALL_BUT_GCP = 'container,host,os,serviceinstance,process,alibaba,aws,azure,env';
/** Variables Google Cloud sets in Cloud Run, Cloud Functions and App Engine, or users set for its SDKs. */
const GOOGLE_CLOUD_VARIABLES = ['K_SERVICE', 'CLOUD_RUN_JOB', 'FUNCTION_TARGET', 'GAE_SERVICE', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'GCE_METADATA_HOST'];

/**
 * The resource detectors, as `OTEL_NODE_RESOURCE_DETECTORS` asks OpenTelemetry's bundle for them.
 * Unset (the bundle's `all`), Google Cloud's detector runs only where Google Cloud is likely: elsewhere
 * it probes the metadata server at every start and, offline, prints a `MetadataLookupWarning`.
 * Set explicitly (`all`, `gcp`, ...), it is what the user asked.
 */
export function resourceDetectors(env: Env = process.env): ReturnType<typeof getResourceDetectors> {
  const asked = env.OTEL_NODE_RESOURCE_DETECTORS;
  if ((asked !== undefined && asked.trim() !== '') || onGoogleCloud(env)) return getResourceDetectors();
  // The bundle's routine reads process.env: it is given the list for the length of the call.
  const saved = process.env.OTEL_NODE_RESOURCE_DETECTORS;
  process.env.OTEL_NODE_RESOURCE_DETECTORS = ALL_BUT_GCP;
  try {
    return getResourceDetectors();
  } finally {
    if (saved === undefined) delete process.env.OTEL_NODE_RESOURCE_DETECTORS;
    else process.env.OTEL_NODE_RESOURCE_DETECTORS = saved;
  }
}

/** Whether this process likely runs on Google Cloud: its variables, or a Google machine (GCE, GKE nodes). */
function onGoogleCloud(env: Env): boolean {
  if (GOOGLE_CLOUD_VARIABLES.some((name) => (env[name] ?? '') !== '')) return true;
  try {
    return /google/i.test(readFileSync('/sys/class/dmi/id/product_name', 'utf8'));
  } catch {
    return false;
  }
}

/** The signals whose default ends the process, flushed first (Windows has SIGHUP for a closed console). */
const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Starts, once per process, a NodeSDK with `@opentelemetry/auto-instrumentations-node`,
 * the trace exporters of `OTEL_TRACES_EXPORTER` and the profiling span processor
 * configured by the `SPANPROF_*` variables, and flushes it all at SIGTERM,
 * SIGINT, SIGHUP and `beforeExit`. Never throws.
 */
export function startBundle(env: Env = process.env): StartedBundle | undefined {
  const global = globalThis as GlobalWithStarted;
  if (global[STARTED] !== undefined) return global[STARTED];
  const config = readSpanprofEnv(env);
  for (const problem of config.problems) warnConfig(problem, logger);
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  if (disabled) {
    logger.info('OTEL_SDK_DISABLED is true: neither tracing nor profiling starts');
    return undefined;
  }
  let sdk: NodeSDK;
  try {
    const spanProcessors: SpanProcessor[] = traceProcessorsFromEnv();
    if (config.enabled) spanProcessors.push(processorFromConfig(config, { owner: REGISTER_OWNER }));
    sdk = new NodeSDK({
      // spanprof's manager carries the profiler's sample context in the same frames (the cheapest way).
      contextManager: new SpanprofContextManager(),
      instrumentations: [getNodeAutoInstrumentations()],
      resourceDetectors: resourceDetectors(env),
      spanProcessors,
    });
    sdk.start();
    shareWithWorkers(sdk);
  } catch (err) {
    warn(`the OpenTelemetry SDK did not start (${String(err)}); the app runs without tracing and profiling`, codes.SDK_START_FAILED);
    return undefined;
  }
  let stopping: Promise<void> | undefined;
  const deadline = config.shutdownTimeoutMillis;
  /** `then`: what happens at the deadline, for the warning (the app's own signal handler decides when it exits). */
  const flush = (then: string): Promise<void> => {
    // Spans or metrics not yet sent are lost: said without a logger too. The usual cause is an
    // OTLP exporter (the SDK's default for traces and metrics) with no collector to answer.
    stopping ??= boundedFlush(
      () => sdk.shutdown(),
      deadline,
      () =>
        warn(
          `the flush at exit did not finish within SPANPROF_SHUTDOWN_TIMEOUT_MILLIS=${deadline} ms; ${then}. ` +
            'An OTLP exporter with no collector to answer waits out its timeout: set OTEL_TRACES_EXPORTER=none or OTEL_METRICS_EXPORTER=none for what nothing collects',
          codes.SHUTDOWN_TIMED_OUT,
        ),
    );
    return stopping;
  };
  const shutdown = (): Promise<void> => flush('shutdown() resolves without it');
  const onSignal = (signal: NodeJS.Signals): void => {
    const appHandles = process.listenerCount(signal) > 1;
    // An app's own SIGHUP means "reload", not "end": telemetry goes on (an exit that follows is
    // caught by the profiler's exit handler).
    if (appHandles && signal === 'SIGHUP') return;
    const again = stopping !== undefined;
    void flush(appHandles ? `the app's own ${signal} handler decides when the process exits` : 'exiting without it');
    // The app listens too: it decides when to exit, and the flush runs meanwhile.
    if (appHandles) return;
    const exit = (): void => {
      process.removeListener(signal, onSignal);
      // Nobody else listens: end the way the signal would have without us.
      process.kill(process.pid, signal);
    };
    // A second signal during the flush does not wait for it.
    if (again) exit();
    else void stopping!.then(exit);
  };
  // SIGHUP too: a closed terminal or a supervisor's reload ends the process as SIGTERM does.
  for (const signal of EXIT_SIGNALS) process.on(signal, onSignal);
  // Work done, the loop is empty: flush; the flush's own I/O keeps the process until it is done.
  process.once('beforeExit', () => void flush('exiting without it'));
  const started: StartedBundle = { sdk, shutdown };
  global[STARTED] = started;
  return started;
}

/** What `@spanprof/auto/register` started in this process, if anything. */
export function startedBundle(): StartedBundle | undefined {
  return (globalThis as GlobalWithStarted)[STARTED];
}
