/**
 * Stable codes of spanprof's warnings and errors. A code is never reused for a
 * different meaning; search the docs for it.
 */
export const codes = Object.freeze({
  /** Bad configuration: an option or variable has a wrong type or value (the default or a clamped value is used), or a SPANPROF_ variable is unknown. */
  INVALID_OPTION: 'SPANPROF_W001',
  /** Another spanprof profiler already runs in this process; this session does not profile. */
  PROFILER_ALREADY_RUNNING: 'SPANPROF_W002',
  /** The V8 profiler got stuck and returned an empty profile; it was restarted. */
  V8_PROFILER_STUCK: 'SPANPROF_W003',
  /** A batch was dropped because an exporter still had too many in flight. */
  EXPORT_DROPPED: 'SPANPROF_W004',
  /** An export failed or timed out. */
  EXPORT_FAILED: 'SPANPROF_W005',
  /** The heap profiler could not start; wall profiles go on, heap profiles are off. */
  HEAP_PROFILER_START_FAILED: 'SPANPROF_W006',
  /** `@spanprof/auto/register`'s flush at exit did not finish within SPANPROF_SHUTDOWN_TIMEOUT_MILLIS; the process exits without it. */
  SHUTDOWN_TIMED_OUT: 'SPANPROF_W007',
  /** `OTEL_TRACES_EXPORTER` could not be applied with the installed `@opentelemetry/sdk-node`; spans are not exported. */
  TRACES_EXPORTER_UNAVAILABLE: 'SPANPROF_W008',
  /** Profiling metrics could not be recorded for a collection (the profiles are exported as usual). */
  METRICS_FAILED: 'SPANPROF_W009',
  /** A framework integration got a request with no span labelled by spanprof: it records nothing (processor or HTTP instrumentation missing). */
  NO_SPAN_TO_LABEL: 'SPANPROF_W010',
  /** The application's source maps could not be read; profiles show compiled locations. */
  SOURCE_MAPS_UNREAD: 'SPANPROF_W011',
  /** A period had more events than the events profile keeps (spans with samples, their ancestors, ...): the rest were left out of it. */
  EVENTS_DROPPED: 'SPANPROF_W012',
  /** The process exited before spanprof was shut down: the last period went only to the exporters that write at once (the FileExporter), or nowhere. */
  LOST_AT_EXIT: 'SPANPROF_W013',
  /** One of spanprof's hooks into the application failed (span processor hook, async hook, context storage, I/O event source); counted, the application goes on. */
  HOOK_FAILED: 'SPANPROF_W014',
  /** The heap profile at out of memory is off, or one of the exporters cannot be made again to send it. */
  OOM_EXPORT_UNAVAILABLE: 'SPANPROF_W015',
  /** Span switches are followed the costlier way: the registered context manager is not SpanprofContextManager (it is wrapped), or the profiler's storage was not found. */
  COSTLY_CONTEXT_TRACKING: 'SPANPROF_W016',
  /** The profiler could not start; the application goes on unprofiled. */
  PROFILER_START_FAILED: 'SPANPROF_E001',
  /** Collecting a profile failed. */
  COLLECT_FAILED: 'SPANPROF_E002',
  /** `@spanprof/auto/register`'s OpenTelemetry SDK could not start; the application runs without tracing and profiling. */
  SDK_START_FAILED: 'SPANPROF_E003',
});

/** `SPANPROF_W001 option samplingIntervalMicros: ...` */
export function message(code: string, text: string): string {
  return `${code} ${text}`;
}
