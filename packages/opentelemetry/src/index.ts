export { ProfilingSpanProcessor, ATTR_PYROSCOPE_PROFILE_ID } from './ProfilingSpanProcessor';
export type { EndedSpan, ProfilingSpanProcessorOptions, SpanProcessor } from './types';
export { endpointOf } from './endpoint';
