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
} from './schema';
export { readProfileTags, readRequestCounts, writeProfileTags, writeRequestCounts } from './comments';
export type { CommentedProfile } from './comments';
