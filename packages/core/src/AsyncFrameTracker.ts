import type { Context } from '@opentelemetry/api';
import { time } from '@datadog/pprof';
import { codes } from '@spanprof/exporter-base';
import type { ContextStorage } from './ContextStorage';
import { ContextTracker } from './ContextTracker';
import { processWarning } from './diag';
import { hookFailed } from './faults';
import { FrameHolders } from './frameHolders';
import { labelsOfContext } from './labels';
import type { SpanLabels } from './labels';
import { PprofStorage } from './pprofStorage';
import type { SpanprofContextManager } from './SpanprofContextManager';

/** Whether a missing pprof storage was already said (once per process). */
let warnedNoStorage = false;

/**
 * `async-frame`: the sample context rides in AsyncContextFrame next to the
 * OpenTelemetry context, so asynchronous continuations carry it by themselves,
 * with no async hooks. A SpanprofContextManager carries it in its own frames
 * (one frame entry per switch holds both contexts). Any other manager has its
 * `with` and `attach` wrapped: a frame of pprof's storage is entered around its
 * own.
 */
export class AsyncFrameTracker extends ContextTracker {
  readonly strategy = 'async-frame' as const;
  /** pprof's storage of the sample context. */
  private pprof: PprofStorage | undefined;
  /** The connected manager's storage. */
  private storage: ContextStorage | undefined;
  /** pprof's holders, for a wrapped or observed manager. */
  private frames: FrameHolders | undefined;

  protected begin(): void {
    this.pprof = PprofStorage.find();
    if (this.pprof === undefined && !warnedNoStorage) {
      warnedNoStorage = true;
      processWarning(
        codes.COSTLY_CONTEXT_TRACKING,
        "@datadog/pprof's context storage was not found (its internals changed?): every span switch makes a new context holder, which costs more. Samples are labelled as before",
      );
    }
  }

  protected end(): void {
    this.frames?.dispose();
    this.frames = undefined;
    this.pprof = undefined;
  }

  protected connect(manager: SpanprofContextManager): void {
    if (this.pprof !== undefined) {
      this.storage = manager.carryHolders(this.pprof);
      return;
    }
    this.frames ??= new FrameHolders(undefined);
    manager.observe(this.observer);
  }

  protected disconnect(manager: SpanprofContextManager): void {
    // The storage stays in the manager: continuations created meanwhile read their context from it.
    this.storage?.detach();
    this.storage = undefined;
    manager.observe(undefined);
  }

  protected override beforeWrap(): void {
    this.frames ??= new FrameHolders(this.pprof);
  }

  /**
   * A frame of pprof's storage holding the sample context is entered around
   * `enter()`; both frames end when it returns, and continuations created
   * meanwhile carry both. No restore needed. The span's first switch has pprof
   * make its context holder; later ones reuse it.
   */
  protected switchTo(ctx: Context, enter: () => unknown): unknown {
    const next = labelsOfContext(ctx);
    if (next === this.activeLabels() || this.frames === undefined || !time.isStarted()) return enter();
    return this.frames.run(next, enter);
  }

  protected setLabels(labels: SpanLabels | undefined): void {
    try {
      time.setContext(labels);
    } catch (err) {
      hookFailed('sample context update', err, 'samples may carry the wrong span');
    }
  }
}
