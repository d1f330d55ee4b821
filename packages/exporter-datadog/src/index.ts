export { DD_LABEL_LOCAL_ROOT_SPAN_ID, DD_LABEL_SPAN_ID, DD_LABEL_TRACE_ENDPOINT, DatadogProfileExporter, datadogSpanId } from './DatadogProfileExporter';
export type { DatadogProfileExporterOptions } from './DatadogProfileExporter';
