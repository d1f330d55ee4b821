export { ProfilingSpanProcessor, ATTR_PYROSCOPE_PROFILE_ID } from './ProfilingSpanProcessor';
export type { EndedSpan, ProfilingSpanProcessorOptions, SpanProcessor } from './types';
export { endpointOf } from './endpoint';
// The context manager to register with the SDK (`new NodeSDK({ contextManager: new SpanprofContextManager() })`).
export { SpanprofContextManager } from '@spanprof/core';
// Custom labels from code: on a scope's samples, or on the whole current request's.
export { setLabels, withLabels } from '@spanprof/core';
export type { CustomLabelValues } from '@spanprof/core';
