import { SpanLabels } from './labels';

/**
 * The sample context of the `async-hooks` strategy: pprof keeps one global
 * slot, this holder is installed there, and its `ref` is updated from
 * JavaScript at every context change (see `AsyncHooksTracker`).
 */
export class SampleContextHolder {
  constructor(public ref: SpanLabels | undefined) {}
}

/** The labels a sample context (as pprof hands it back at collection) stands for, under either strategy. */
export function labelsOfSampleContext(value: unknown): SpanLabels | undefined {
  if (value instanceof SampleContextHolder) return value.ref;
  if (value instanceof SpanLabels) return value;
  return undefined;
}
