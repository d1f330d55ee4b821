import { diag } from '@opentelemetry/api';
import type { tracing } from '@opentelemetry/sdk-node';
import { codes } from '@spanprof/exporter-base';

export type SpanProcessor = tracing.SpanProcessor;
export type Env = Record<string, string | undefined>;

export const logger = diag.createComponentLogger({ namespace: '@spanprof/auto' });

/** A configuration mistake or lost data: shown with no diag logger set, and logged. */
export function warn(text: string, code: string): void {
  process.emitWarning(text, { code });
  logger.warn(`${code} ${text}`);
}

/**
 * The span processors `OTEL_TRACES_EXPORTER` asks for (otlp by default,
 * console, zipkin, none; the OTLP protocol from `OTEL_EXPORTER_OTLP_*`;
 * batching from `OTEL_BSP_*`), built by the NodeSDK's own routine so the
 * variables mean exactly what they mean for the OpenTelemetry bundle.
 */
export function traceProcessorsFromEnv(): SpanProcessor[] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const utils = require('@opentelemetry/sdk-node/build/src/utils') as { getSpanProcessorsFromEnv?: () => SpanProcessor[] };
    if (typeof utils.getSpanProcessorsFromEnv === 'function') return utils.getSpanProcessorsFromEnv();
  } catch (err) {
    logger.debug('sdk-node env processors unavailable', err);
  }
  warn(
    'OTEL_TRACES_EXPORTER could not be applied with this @opentelemetry/sdk-node; spans are not exported (profiling goes on)',
    codes.TRACES_EXPORTER_UNAVAILABLE,
  );
  return [];
}

/**
 * `flush()` bounded by `deadlineMillis`: once it is missed, `onLate` runs and the promise
 * resolves (what was not flushed is lost). Never rejects.
 */
export function boundedFlush(flush: () => Promise<void>, deadlineMillis: number, onLate: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      onLate();
      resolve();
    }, deadlineMillis);
    timer.unref();
    flush().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        logger.warn(`shutdown failed: ${String(err)}`);
        resolve();
      },
    );
  });
}

/** Names the bundle in the warning a second profiler gets. */
export const REGISTER_OWNER = '@spanprof/auto/register';
