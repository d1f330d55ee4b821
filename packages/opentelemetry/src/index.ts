export { ProfilingSpanProcessor, ATTR_PYROSCOPE_PROFILE_ID } from './ProfilingSpanProcessor';
export type { ProfilingSpanProcessorOptions } from './types';
export { endpointOf } from './endpoint';
