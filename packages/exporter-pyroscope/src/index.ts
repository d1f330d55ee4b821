export { DEFAULT_PYROSCOPE_SAMPLE_LABELS, LABEL_ACTIVE_SPAN_ID, PyroscopeExporter } from './PyroscopeExporter';
export type { PyroscopeExporterOptions } from './PyroscopeExporter';
