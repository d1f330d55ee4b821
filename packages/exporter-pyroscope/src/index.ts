export { DEFAULT_PYROSCOPE_SAMPLE_LABELS, PyroscopeExporter } from './PyroscopeExporter';
export type { PyroscopeExporterOptions } from './PyroscopeExporter';
