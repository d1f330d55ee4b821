import type { Context } from '@opentelemetry/api';
import { createHook } from 'node:async_hooks';
import type { AsyncHook } from 'node:async_hooks';
import { time } from '@datadog/pprof';
import { ContextTracker } from './ContextTracker';
import { hookFailed } from './faults';
import { SampleContextHolder } from './sampleContext';
import { labelsOfContext } from './labels';
import type { SpanLabels } from './labels';
import type { SpanprofContextManager, SwitchObserver } from './SpanprofContextManager';

/** Deeper nesting of async callbacks than this resets the restore stack. */
const MAX_DEPTH = 1024;

const NO_LABELS: SpanLabels | undefined = undefined;

/** Index of the sample counter in the profiler's shared state array. */
const SAMPLE_COUNT_INDEX: number = (time.constants as { kSampleCount?: number }).kSampleCount ?? 0;

/**
 * `async-hooks`: pprof keeps one global sample-context slot. Synchronous
 * context changes are told by a SpanprofContextManager, or caught by wrapping
 * another manager's `with` and `attach`; asynchronous continuations by a `before`/`after` hook that re-reads the
 * active context at every async switch. The slot holds a `SampleContextHolder`
 * whose `ref` is updated from JavaScript, with no native call, unless the
 * profiler took a sample since it was installed: then a fresh holder is
 * installed, so the sampled one keeps the labels it had at sample time.
 */
export class AsyncHooksTracker extends ContextTracker {
  readonly strategy = 'async-hooks' as const;
  private hook: AsyncHook | undefined;
  private current: SpanLabels | undefined = NO_LABELS;
  private holder = new SampleContextHolder(NO_LABELS);
  private sampleCounter: Uint32Array | undefined;
  private seenSamples = -1;
  private readonly restore: (SpanLabels | undefined)[] = new Array<SpanLabels | undefined>(MAX_DEPTH);
  private depth = 0;

  /**
   * After the profiler restarted (each collection) its sample counter starts
   * again from zero: install a fresh holder so no sample of the new period can
   * share a holder with one of the old.
   */
  override profilerRestarted(): void {
    if (!this.running) return;
    this.seenSamples = -1;
    this.write(this.current);
  }

  protected begin(): void {
    this.sampleCounter = time.getState() as Uint32Array;
    this.seenSamples = -1;
    this.depth = 0;
    this.write(this.activeLabels());
    // An exception thrown from an async hook ends the process: both hooks are guarded.
    const before = (): void => {
      try {
        const depth = this.depth++;
        if (depth < MAX_DEPTH) this.restore[depth] = this.current;
        this.write(this.activeLabels());
      } catch (err) {
        hookFailed('async hook', err, 'samples of that task may carry the wrong span');
      }
    };
    const after = (): void => {
      try {
        const depth = --this.depth;
        if (depth < 0) {
          this.depth = 0;
          this.write(NO_LABELS);
        } else if (depth < MAX_DEPTH) {
          this.write(this.restore[depth]);
          this.restore[depth] = NO_LABELS;
        }
      } catch (err) {
        hookFailed('async hook', err, 'samples of that task may carry the wrong span');
      }
    };
    this.hook = createHook({ before, after }).enable();
  }

  protected end(): void {
    this.hook?.disable();
    this.hook = undefined;
    this.restore.fill(NO_LABELS);
    this.current = NO_LABELS;
    this.holder = new SampleContextHolder(NO_LABELS);
    this.sampleCounter = undefined;
  }

  protected override beforeWrap(): void {
    // Async hooks run in the order they were enabled. A manager that tracks the
    // context with hooks of its own (AsyncHooksContextManager) was enabled after
    // ours when the processor was built first: re-enable ours to run after it.
    if (this.hook !== undefined) {
      this.hook.disable();
      this.hook.enable();
    }
  }

  /** What a SpanprofContextManager tells: switches set the slot and put it back, with no closure. */
  private readonly switches: SwitchObserver = {
    switchTo: (ctx, enter) => this.switchTo(ctx, enter),
    enter: (ctx) => {
      const previous = this.current;
      const next = labelsOfContext(ctx);
      if (this.running && next !== previous) this.write(next);
      return previous;
    },
    leave: (previous) => {
      if (this.running && this.current !== previous) this.write(previous as SpanLabels | undefined);
    },
    attached: (ctx) => {
      if (this.running) this.write(labelsOfContext(ctx));
    },
  };

  protected connect(manager: SpanprofContextManager): void {
    manager.observe(this.switches);
  }

  protected disconnect(manager: SpanprofContextManager): void {
    manager.observe(undefined);
  }

  protected switchTo(ctx: Context, enter: () => unknown): unknown {
    const next = labelsOfContext(ctx);
    const previous = this.current;
    if (next === previous) return enter();
    this.write(next);
    try {
      return enter();
    } finally {
      this.write(previous);
    }
  }

  protected setLabels(labels: SpanLabels | undefined): void {
    this.write(labels);
  }

  /** Makes `labels` the sample context, with no native call unless a sample was taken. */
  private write(labels: SpanLabels | undefined): void {
    this.current = labels;
    const counter = this.sampleCounter;
    if (counter === undefined) return;
    const samples = counter[SAMPLE_COUNT_INDEX];
    if (samples !== this.seenSamples) {
      this.seenSamples = samples;
      this.holder = new SampleContextHolder(labels);
      try {
        time.setContext(this.holder);
      } catch (err) {
        hookFailed('sample context update', err, 'samples may carry the wrong span');
      }
    } else {
      this.holder.ref = labels;
    }
  }
}
