import { diag } from '@opentelemetry/api';
import { message } from '@spanprof/exporter-base';

/** The logger of `@spanprof/core`: every fault of the profiler ends up here. */
export const logger = diag.createComponentLogger({ namespace: '@spanprof/core' });

/** A fault that turns profiling, or part of it, off or loses a period: a process warning as well as a diag error. */
export function processWarning(code: string, text: string): void {
  logger.error(message(code, text));
  try {
    process.emitWarning(text, { code });
  } catch {
    // A warning listener that throws is not ours to break on.
  }
}
