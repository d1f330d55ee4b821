import { diag } from '@opentelemetry/api';

/** The logger of `@spanprof/core`: every fault of the profiler ends up here. */
export const logger = diag.createComponentLogger({ namespace: '@spanprof/core' });
