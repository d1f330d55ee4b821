export {
  EVENTS_KIND,
  HEAP_KIND,
  LABEL_DELAYED_COUNT,
  LABEL_DELAYED_ENDPOINT,
  LABEL_END_TIMESTAMP,
  LABEL_ERROR,
  LABEL_EVENT,
  LABEL_LOCAL_ROOT_SPAN_ID,
  LABEL_PARENT_SPAN_ID,
  LABEL_REQUESTS_IN_FLIGHT,
  LABEL_REQUESTS_QUEUED,
  LABEL_RESOURCE,
  LABEL_RUNNING,
  LABEL_SPAN_ID,
  LABEL_THREAD_ID,
  LABEL_THREAD_NAME,
  LABEL_TRACE_ENDPOINT,
  LABEL_TRACE_ID,
  NON_JS_THREADS_FUNCTION,
  PROFILE_FILE_SUFFIX,
  RESERVED_LABEL_NAMES,
  SPAN_LABEL_NAMES,
  TAG_DEPLOYMENT_ENVIRONMENT,
  TAG_HOST_NAME,
  TAG_PROCESS_PID,
  TAG_PROFILER_VERSION,
  TAG_RUNTIME_NAME,
  TAG_RUNTIME_VERSION,
  TAG_SERVICE_NAME,
  TAG_SERVICE_VERSION,
  WALL_KIND,
} from './schema';
export { eventsProfile, EventsProfileWriter, IO_EVENT_KINDS, readEvents } from './events';
export { indexEvents } from './EventIndex';
export type { IndexedEvents, SpanColumns } from './EventIndex';
export type { EventInput, EventKind, EventLabel, TimelineEvent } from './events';
export {
  addRequestTimes,
  bucketMillis,
  durationBucket,
  percentileMillis,
  readProfileTags,
  readRequestCounts,
  readRequestTimes,
  writeProfileTags,
  writeRequestCounts,
  writeRequestTimes,
} from './comments';
export type { CommentedProfile, RequestTimes } from './comments';
export { decodePprof, sampleTotals } from './decode';
export type { Int64, PprofMessage } from './decode';
export { ANONYMOUS_FUNCTION, functionKey, normalizeFile, portablePath, UNKNOWN_FUNCTION } from './functions';
export { FrameTable, indexProfile, LabelTable, noEvents } from './ProfileIndex';
export type { Frame, FunctionRef, IndexedProfile } from './ProfileIndex';
export { collapsed, costByEndpoint, costByLabel, filesOf, findSpan, flameGraph, hotspots, rank } from './analysis';
export type {
  Cost,
  EndpointCost,
  FlameGraphOptions,
  FlameNode,
  FunctionCost,
  Hotspots,
  Ranking,
  RankOrder,
  Scope,
  SpanCost,
  SpanInfo,
  TimeKind,
  TraceCost,
} from './analysis';
export { endpointTimes, scopeTime, spanTimes, timeline, traceTimes } from './spanTimes';
export type { EndpointTime, ScopeTime, SpanTime, Timeline, TimelineSample, TraceTime } from './spanTimes';
export { loopBlocks } from './blocks';
export type { BlockFunction, BlockSpan, LoopBlock } from './blocks';
export { compare } from './compare';
export type { CompareOptions, Comparison, EndpointComparison, FunctionChange, SideSummary } from './compare';
export { loadProfiles, ProfileDirectory, ProfileDirectoryError, selectProfiles } from './ProfileDirectory';
export type { LoadResult, ProfileFilter, RefreshResult } from './ProfileDirectory';
export { addSampleLabels, encodeGzipped, relabelProfile } from './relabel';
export type { LabelValues } from './relabel';
export { heapHotspots, newestHeapProfile, TAG_OOM } from './heap';
export { PROFILE_LIMITS, ProfileFileError, scanPprof } from './limits';
export type { PprofCounts, ProfileLimits } from './limits';
export { readProfileFile } from './readProfileFile';
export type { HeapCost, HeapFunction, HeapProfileFile } from './heap';
