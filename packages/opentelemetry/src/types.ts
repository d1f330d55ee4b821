import type { Attributes, Context, HrTime, Span } from '@opentelemetry/api';
import type { ProfilerOptions } from '@spanprof/core';

/** What a span processor reads of an ended span: the part both SDK lines' `ReadableSpan` have. */
export interface EndedSpan {
  spanContext(): { spanId: string };
  readonly name: string;
  readonly attributes: Attributes;
  /** When the span ended (both SDK lines have it). */
  readonly endTime?: HrTime;
}

/**
 * The OpenTelemetry SDK's `SpanProcessor` contract (`@opentelemetry/sdk-trace-base`
 * 2.x, `@opentelemetry/sdk-trace` 3.x), declared here so that this package depends
 * on neither SDK line: a `ProfilingSpanProcessor` is accepted wherever the SDK
 * takes a span processor (checked against both lines by the tests).
 */
export interface SpanProcessor {
  onStart(span: Span, parentContext: Context): void;
  onEnd(span: EndedSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface ProfilingSpanProcessorOptions extends ProfilerOptions {
  /**
   * Set the attribute `pyroscope.profile.id` (the span's own ID) on local root
   * spans, which Grafana uses to link a trace to its profiles. Default true.
   */
  profileIdAttribute?: boolean;
  /**
   * For integrations that start the processor for the user
   * (`@spanprof/auto/register`): named when a second profiler is started in
   * the same process.
   */
  owner?: string;
}
