import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';

/** The key OpenTelemetry's `suppressTracing` sets: instrumentations make no spans under it. */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** Runs `fn` outside any span (the caller's is not charged), with tracing suppressed: exports make no spans of their own. */
export function withTracingSuppressed<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT.setValue(SUPPRESS_TRACING_KEY, true), fn);
}

/** Whether tracing is suppressed in `ctx` (an exporter's own work, spanprof's or OpenTelemetry's). */
export function isTracingSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING_KEY) === true;
}
