// `@spanprof/core/framework`: what the Express, Fastify and Koa integrations share, for
// any framework: request labelling (route endpoint, custom labels) and /debug/pprof.
export { MAX_CUSTOM_LABELS, MAX_LABEL_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH, MAX_ROUTE_LENGTH, RequestLabeler } from './request';
export type { CustomLabelValues } from './request';
export { DebugPprofEndpoints } from './debugPprof';
export type { DebugPprofClient, DebugPprofEndpoint, DebugPprofOptions, DebugPprofResponse } from './debugPprof';
