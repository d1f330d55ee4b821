export { EXPORTER_NAMES, profilingSpanProcessorFromEnv, readSpanprofEnv } from './config';
export type { ExporterName, SpanprofEnvConfig } from './config';
export { DisabledProcessor, DEFAULT_SHUTDOWN_TIMEOUT_MILLIS, processorFromConfig } from './config';
export { REGISTER_OWNER, resourceDetectors, startBundle, startedBundle } from './sdk';
export type { StartedBundle } from './sdk';
export { startWorkerBundle } from './worker';
export type { StartedWorkerBundle } from './worker';
// The context manager to pass to NodeSDK next to profilingSpanProcessorFromEnv() (the bundle registers it itself).
export { SpanprofContextManager } from '@spanprof/core';
