export { OTLPProfileExporter, PROFILES_PATH, exportRequestType } from './OTLPProfileExporter';
export type { OTLPCompression, OTLPProfileExporterOptions } from './OTLPProfileExporter';
export { SCOPE_NAME, toOtlpRequest } from './convert';
