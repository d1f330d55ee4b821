/** The label names Datadog's Code Hotspots and endpoint profiling read. */
export const DD_LABEL_SPAN_ID = 'span id';
export const DD_LABEL_LOCAL_ROOT_SPAN_ID = 'local root span id';
export const DD_LABEL_TRACE_ENDPOINT = 'trace endpoint';
/** The thread label names Datadog's profiles use (its Node profiler sends them for the main thread and workers). */
export const DD_LABEL_THREAD_ID = 'thread id';
export const DD_LABEL_THREAD_NAME = 'thread name';

const HEX16 = /^[0-9a-f]{16}$/;

/**
 * A span ID as Datadog's numeric label: pprof numeric labels are int64, so the unsigned ID's bit
 * pattern, as the intake reads it back. Undefined for anything but 16 lowercase hex digits.
 */
export function spanIdLabel(id: unknown): bigint | undefined {
  return typeof id === 'string' && HEX16.test(id) ? BigInt.asIntN(64, BigInt(`0x${id}`)) : undefined;
}
