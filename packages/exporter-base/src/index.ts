export { ExportResultCode, KNOWN_EXPORTERS } from './types';
export type { CollectedProfile, ExporterRecipe, ExportResult, KnownExporter, ProfileBatch, ProfileExporter, ProfileKind } from './types';
export { backoffMillis, HttpProfileExporter, parseRetryAfter, redactUrl, validHeaders } from './HttpProfileExporter';
export type { HttpExporterOptions, HttpExporterStats, HttpRequestSpec } from './HttpProfileExporter';
export { BOOLEAN_VALUES, envPositiveInteger, envString, firstEnv, MAX_TIMER_MILLIS, parseBoolean, parseKeyValueList, parsePositiveInteger } from './env';
export { booleanOption, describeValue, integerOption, positiveIntegerOption, warnOption } from './options';
export { codes, message } from './errors';
export { isTracingSuppressed, withTracingSuppressed } from './suppress';
export { Outage } from './outage';
