import type { Context, ContextManager } from '@opentelemetry/api';
import { time } from '@datadog/pprof';
import { ContextStorage } from './ContextStorage';
import { callWith, ContextTracker } from './ContextTracker';
import type { AnyFn, WithFn } from './ContextTracker';
import { hookFailed } from './faults';
import { FrameHolders } from './frameHolders';
import { labelsOfContext } from './labels';
import type { SpanLabels } from './labels';
import { PprofStorage } from './pprofStorage';

/**
 * `async-frame`: the sample context rides in AsyncContextFrame next to the
 * OpenTelemetry context, so asynchronous continuations carry it by themselves,
 * with no async hooks. When the registered manager is OpenTelemetry's stock
 * `AsyncLocalStorageContextManager`, its storage is replaced by a
 * `ContextStorage`, and one frame entry holds both contexts. Any other manager
 * has its `with` and `attach` wrapped: a frame of pprof's storage is entered
 * around its own.
 */
export class AsyncFrameTracker extends ContextTracker {
  readonly strategy = 'async-frame' as const;
  /** pprof's storage of the sample context. */
  private pprof: PprofStorage | undefined;
  /** The adopted manager's storage. */
  private storage: ContextStorage | undefined;
  /** pprof's holders, for a wrapped manager. */
  private frames: FrameHolders | undefined;

  protected begin(): void {
    this.pprof = PprofStorage.find();
  }

  protected end(): void {
    this.frames?.dispose();
    this.frames = undefined;
    this.pprof?.dispose();
    this.pprof = undefined;
  }

  protected override adopt(manager: ContextManager): boolean {
    if (this.pprof === undefined) return false;
    this.storage = ContextStorage.adopt(manager, this.pprof);
    return this.storage !== undefined;
  }

  protected override adopted(): boolean {
    return this.storage !== undefined;
  }

  protected override release(): boolean {
    if (this.storage === undefined) return false;
    // The storage stays in the manager: continuations created meanwhile read their context from it.
    this.storage.detach();
    this.storage = undefined;
    return true;
  }

  protected override beforeWrap(): void {
    this.frames ??= new FrameHolders(this.pprof);
  }

  /**
   * A frame of pprof's storage holding the sample context is entered around the
   * manager's `with`; both frames end when `fn` returns, and continuations
   * created in `fn` carry both. No restore needed. The span's first switch has
   * pprof make its context holder; later ones reuse it.
   */
  protected runWith(manager: ContextManager, originalWith: WithFn, ctx: Context, fn: AnyFn, thisArg: unknown, args: readonly unknown[]): unknown {
    const next = labelsOfContext(ctx);
    const previous = labelsOfContext(manager.active());
    if (next === previous || !time.isStarted() || this.frames === undefined) return callWith(manager, originalWith, ctx, fn, thisArg, args);
    return this.frames.run(next, () => callWith(manager, originalWith, ctx, fn, thisArg, args));
  }

  protected setLabels(labels: SpanLabels | undefined): void {
    try {
      time.setContext(labels);
    } catch (err) {
      hookFailed('sample context update', err, 'samples may carry the wrong span');
    }
  }
}
