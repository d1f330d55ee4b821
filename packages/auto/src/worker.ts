import type { Context } from '@opentelemetry/api';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanprofContextManager } from '@spanprof/core';
import { codes, warnConfig } from '@spanprof/exporter-base';
import { processorFromConfig, readSpanprofEnv } from './config';
import { boundedFlush, logger, REGISTER_OWNER, traceProcessorsFromEnv, warn } from './shared';
import type { Env, SpanProcessor } from './shared';
import { sharedByMainThread } from './workers';

/** The bundle in this worker thread, once per thread. */
const STARTED = Symbol.for('@spanprof/auto.startedInWorker');
type GlobalWithStarted = typeof globalThis & { [STARTED]?: StartedWorkerBundle };

/** What `@spanprof/auto/register` started in a worker thread. */
export interface StartedWorkerBundle {
  /** The worker's tracer provider: the trace exporters and the profiler; no instrumentations. */
  readonly provider: NodeTracerProvider;
  /** Flushes the worker's last profile and spans and stops; bounded by `SPANPROF_SHUTDOWN_TIMEOUT_MILLIS`; idempotent. */
  shutdown(): Promise<void>;
}

/**
 * The bundle in a worker thread (workers inherit `execArgv`, so `--require`/`--import` load it
 * in each): only what the worker's own spans and profile need. A tracer provider with the
 * async-local-storage context manager and W3C propagation (so a span extracted from a message
 * continues the main thread's trace), the profiler, and the trace exporters of
 * `OTEL_TRACES_EXPORTER`, loaded when the worker's first span ends. No instrumentations and no
 * resource detectors: the resource is the main thread's. Configuration problems are the main
 * thread's to warn about. Flushes at the worker's `beforeExit`; a worker `terminate()`d loses
 * the period since its last collection. Never throws.
 */
export function startWorkerBundle(env: Env = process.env): StartedWorkerBundle | undefined {
  const global = globalThis as GlobalWithStarted;
  if (global[STARTED] !== undefined) return global[STARTED];
  const shared = sharedByMainThread();
  const config = readSpanprofEnv(env);
  // Said once per process: by the main thread's bundle, unless the main thread runs none.
  if (shared === undefined) for (const problem of config.problems) warnConfig(problem, logger);
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return undefined;
  let provider: NodeTracerProvider;
  try {
    const resource =
      shared?.resource !== undefined ? resourceFromAttributes(shared.resource) : defaultResource().merge(detectResources({ detectors: [envDetector] }));
    const spanProcessors: SpanProcessor[] = [];
    if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() !== 'none') spanProcessors.push(new TraceExportOnFirstSpan());
    if (config.enabled) spanProcessors.push(processorFromConfig(config, { owner: REGISTER_OWNER }));
    provider = new NodeTracerProvider({ resource, spanProcessors });
    provider.register({ contextManager: new SpanprofContextManager() });
  } catch (err) {
    warn(
      `the OpenTelemetry tracer provider did not start in worker thread (${String(err)}); the worker runs without tracing and profiling`,
      codes.SDK_START_FAILED,
    );
    return undefined;
  }
  let stopping: Promise<void> | undefined;
  const deadline = config.shutdownTimeoutMillis;
  const shutdown = (): Promise<void> => {
    stopping ??= boundedFlush(
      () => provider.shutdown(),
      deadline,
      () =>
        warn(
          `a worker thread's flush at exit did not finish within SPANPROF_SHUTDOWN_TIMEOUT_MILLIS=${deadline} ms; exiting without it`,
          codes.SHUTDOWN_TIMED_OUT,
        ),
    );
    return stopping;
  };
  // The worker's work is done: flush; the flush's own I/O keeps the worker until it is done.
  process.once('beforeExit', () => void shutdown());
  const started: StartedWorkerBundle = { provider, shutdown };
  global[STARTED] = started;
  return started;
}

/**
 * The span processors of `OTEL_TRACES_EXPORTER`, built when the first span ends: their
 * exporters take about 100 ms to load, which a worker that never traces does not pay.
 * (The SDK's batch and simple processors do nothing at a span's start.)
 */
class TraceExportOnFirstSpan implements SpanProcessor {
  private processors: SpanProcessor[] | undefined;

  onStart(span: Parameters<SpanProcessor['onStart']>[0], parentContext: Context): void {
    if (this.processors === undefined) return;
    for (const p of this.processors) p.onStart(span, parentContext);
  }

  onEnd(span: Parameters<SpanProcessor['onEnd']>[0]): void {
    if (this.processors === undefined) {
      try {
        this.processors = traceProcessorsFromEnv();
      } catch (err) {
        logger.debug('trace exporters unavailable in worker', err);
        this.processors = [];
      }
    }
    for (const p of this.processors) p.onEnd(span);
  }

  async forceFlush(): Promise<void> {
    await Promise.all((this.processors ?? []).map((p) => p.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all((this.processors ?? []).map((p) => p.shutdown()));
  }
}
