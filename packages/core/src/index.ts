export { ProfilerSession } from './ProfilerSession';
/** For spanprof's own integrations: a caught fault in a hook, counted and warned once. */
export { hookFailed } from './faults';
export type { SessionOptions, SessionStats } from './ProfilerSession';
export { FileExporter } from './FileExporter';
export { ProfileMetrics } from './ProfileMetrics';
export type { FileExporterOptions } from './FileExporter';
export { LocalRoot, SpanLabels, getSpanLabels, setSpanLabels } from './labels';
export type { SampleLabels } from './labels';
export { setLabels, withLabels } from './codeLabels';
// The file format's names and codec, defined in @spanprof/profile.
export {
  LABEL_LOCAL_ROOT_SPAN_ID,
  LABEL_SPAN_ID,
  LABEL_TRACE_ENDPOINT,
  LABEL_TRACE_ID,
  PROFILE_FILE_SUFFIX,
  SPAN_LABEL_NAMES,
  TAG_DEPLOYMENT_ENVIRONMENT,
  TAG_HOST_NAME,
  TAG_PROCESS_PID,
  TAG_PROFILER_VERSION,
  TAG_RUNTIME_NAME,
  TAG_RUNTIME_VERSION,
  TAG_SERVICE_NAME,
  TAG_SERVICE_VERSION,
  readProfileTags,
  readRequestCounts,
  writeRequestCounts,
  encodeGzipped,
  relabelProfile,
} from '@spanprof/profile';
export type { LabelValues } from '@spanprof/profile';
export { isAsyncContextFrameActive } from './asyncContextFrame';
export type { ContextManagerMode, TrackingStrategy } from './ContextTracker';
export { SpanprofContextManager } from './SpanprofContextManager';
export type { ContextTrackingMode, HeapOptions, ProfileMetricsOptions, ProfilerOptions } from './types';
export { VERSION } from './version';
// The exporter contract, warning codes and HTTP delivery, defined in @spanprof/exporter-base;
// kept here so that code written against @spanprof/core goes on working.
export {
  codes,
  envPositiveInteger,
  envString,
  ExportResultCode,
  firstEnv,
  HttpProfileExporter,
  MAX_TIMER_MILLIS,
  parseKeyValueList,
  parseRetryAfter,
  positiveIntegerOption,
  redactUrl,
  validHeaders,
  withTracingSuppressed,
} from '@spanprof/exporter-base';
export type {
  CollectedProfile,
  ExportResult,
  HttpExporterOptions,
  HttpExporterStats,
  HttpRequestSpec,
  ProfileBatch,
  ProfileExporter,
  ProfileKind,
} from '@spanprof/exporter-base';
// Framework plumbing, also at `@spanprof/core/framework` (where the integrations take it from).
export { DebugPprofEndpoints, MAX_CUSTOM_LABELS, MAX_LABEL_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_ROUTE_LENGTH, RequestLabeler } from './framework';
export type { CustomLabelValues, DebugPprofEndpoint, DebugPprofOptions, DebugPprofResponse } from './framework';
