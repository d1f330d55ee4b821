/**
 * The vocabulary of spanprof's profile files: the sample label names the
 * profiler writes, the profile tag names, and the file suffix. The profiler
 * (`@spanprof/core`), the exporters and every reader take them from here.
 */

/** Sample label names, as they appear in every wall-time sample taken inside a span. */
export const LABEL_SPAN_ID = 'span_id';
export const LABEL_LOCAL_ROOT_SPAN_ID = 'local_root_span_id';
export const LABEL_TRACE_ID = 'trace_id';
export const LABEL_TRACE_ENDPOINT = 'trace_endpoint';

/** All sample label names spanprof writes, in a fixed order. */
export const SPAN_LABEL_NAMES: readonly string[] = Object.freeze([LABEL_SPAN_ID, LABEL_LOCAL_ROOT_SPAN_ID, LABEL_TRACE_ID, LABEL_TRACE_ENDPOINT]);

/**
 * Sample labels naming the JavaScript thread a sample was taken on: `thread_id` is Node's
 * `threadId` (`0` on the main thread), `thread_name` is `main`, a worker's `name` (Node 22+),
 * or `worker`. Every sample carries them but the profiler's "Non JS threads activity" one.
 */
export const LABEL_THREAD_ID = 'thread_id';
export const LABEL_THREAD_NAME = 'thread_name';

/**
 * When a sample was taken, nanoseconds since 1970, a numeric label (Datadog's name for it): on
 * every wall sample but the idle ones outside spans, and on every event of the events profile
 * (its end; the event's `duration` value gives its start).
 */
export const LABEL_END_TIMESTAMP = 'end_timestamp_ns';

/** Labels of the events profile (`<...>.events.pb.gz`): what each event is (see `EventKind`), and a span event's parent. */
export const LABEL_EVENT = 'event';
export const LABEL_PARENT_SPAN_ID = 'parent_span_id';
/**
 * On a `block` event (the event loop did not turn): requests in flight when it ended and requests
 * that started in the next turn (numeric), and the endpoints with the most of those delayed
 * requests, each `delayed_endpoint` followed by its `delayed_count` (repeated, most first).
 */
export const LABEL_REQUESTS_IN_FLIGHT = 'requests_in_flight';
export const LABEL_REQUESTS_QUEUED = 'requests_queued';
export const LABEL_DELAYED_ENDPOINT = 'delayed_endpoint';
export const LABEL_DELAYED_COUNT = 'delayed_count';
/** On an I/O event: what it was on (a file path, a host name, `host:port`, `METHOD host/path`), and `true` when it failed. */
export const LABEL_RESOURCE = 'resource';
export const LABEL_ERROR = 'error';
/** `true` on a span event for a span still running when the profile was collected: its end is the collection's time. */
export const LABEL_RUNNING = 'running';

/** Every label name spanprof writes on wall and heap samples: a custom label never takes one of them. */
export const RESERVED_LABEL_NAMES: readonly string[] = Object.freeze([...SPAN_LABEL_NAMES, LABEL_THREAD_ID, LABEL_THREAD_NAME, LABEL_END_TIMESTAMP]);

/** The function name `@datadog/pprof` gives the CPU of threads it does not profile (libuv, GC helpers, unprofiled workers). */
export const NON_JS_THREADS_FUNCTION = 'Non JS threads activity';

/** Tag names spanprof fills in itself (OpenTelemetry resource attribute names). */
export const TAG_SERVICE_NAME = 'service.name';
export const TAG_SERVICE_VERSION = 'service.version';
export const TAG_DEPLOYMENT_ENVIRONMENT = 'deployment.environment.name';
export const TAG_HOST_NAME = 'host.name';
export const TAG_PROCESS_PID = 'process.pid';
export const TAG_RUNTIME_NAME = 'process.runtime.name';
export const TAG_RUNTIME_VERSION = 'process.runtime.version';
export const TAG_PROFILER_VERSION = 'spanprof.version';

/** The profile kinds spanprof writes, the middle of a file's name: `<...>.<kind>.pb.gz`. */
export const WALL_KIND = 'wall';
export const HEAP_KIND = 'heap';
/** The period's spans with their times, its I/O waits, GC pauses and event-loop blocks: see `events.ts`. */
export const EVENTS_KIND = 'events';

/** Suffix of every profile file: gzipped pprof (`<...>.wall.pb.gz`, `<...>.heap.pb.gz`). */
export const PROFILE_FILE_SUFFIX = '.pb.gz';
