export { EXPORTER_NAMES, profilingSpanProcessorFromEnv, readSpanprofEnv } from './config';
export type { ExporterName, SpanprofEnvConfig } from './config';
