export { ProfilerSession } from './ProfilerSession';
export type { SessionOptions, SessionStats } from './ProfilerSession';
export { FileExporter } from './FileExporter';
export { ProfileMetrics } from './ProfileMetrics';
export type { FileExporterOptions } from './FileExporter';
export { LocalRoot, SpanLabels, getSpanLabels, setSpanLabels } from './labels';
export type { SampleLabels } from './labels';
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
export { codes } from './errors';
export { ExportResultCode } from './types';
export type {
  CollectedProfile,
  ContextTrackingMode,
  ExportResult,
  HeapOptions,
  ProfileBatch,
  ProfileExporter,
  ProfileKind,
  ProfileMetricsOptions,
  ProfilerOptions,
} from './types';
export { VERSION } from './version';
export { HttpProfileExporter, MAX_TIMER_MILLIS, parseRetryAfter, positiveIntegerOption, redactUrl, validHeaders } from './HttpProfileExporter';
export { withTracingSuppressed } from './suppress';
export type { HttpExporterOptions, HttpExporterStats, HttpRequestSpec } from './HttpProfileExporter';
export { envPositiveInteger, envString, firstEnv, parseKeyValueList } from './env';
export { RequestLabeler, MAX_CUSTOM_LABELS, MAX_LABEL_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_ROUTE_LENGTH } from './request';
export type { CustomLabelValues } from './request';
export { DebugPprofEndpoints } from './debugPprof';
export type { DebugPprofEndpoint, DebugPprofOptions, DebugPprofResponse } from './debugPprof';
