import { diag } from '@opentelemetry/api';

/** The logger of `@spanprof/exporter-base`: faults of HTTP delivery and of configuration checks. */
export const logger = diag.createComponentLogger({ namespace: '@spanprof/exporter-base' });
