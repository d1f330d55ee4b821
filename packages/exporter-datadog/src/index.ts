export { DatadogProfileExporter, datadogSpanId } from './DatadogProfileExporter';
export { DD_LABEL_LOCAL_ROOT_SPAN_ID, DD_LABEL_SPAN_ID, DD_LABEL_TRACE_ENDPOINT } from './labels';
export type { DatadogProfileExporterOptions } from './DatadogProfileExporter';
