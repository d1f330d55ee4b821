import { context as contextApi } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { createHook } from 'node:async_hooks';
import type { AsyncHook } from 'node:async_hooks';
import { time } from '@datadog/pprof';
import { labelsOfContext, SpanLabels } from './labels';
import { logger } from './diag';
import { ContextStorage } from './ContextStorage';
import { FrameHolders } from './frameHolders';
import { PprofStorage } from './pprofStorage';

/** The two ways the sample context follows the active span. */
export type TrackingStrategy = 'async-frame' | 'async-hooks';
/** How the registered context manager is followed (see SessionStats.contextManager). */
export type ContextManagerMode = 'storage' | 'wrapped';

/**
 * The sample context in `async-hooks` mode. pprof keeps one global slot; a
 * holder is installed there and its `ref` is updated from JavaScript at every
 * context change, which costs no native call. When the profiler has taken a
 * sample since the holder was installed, the next change installs a fresh
 * holder first, so the sampled holder keeps the labels it had at sample time.
 */
export class SampleContextHolder {
  constructor(public ref: SpanLabels | undefined) {}
}

/** The label data a sample context (as pprof hands it back) stands for. */
export function labelsOfSampleContext(value: unknown): SpanLabels | undefined {
  if (value instanceof SampleContextHolder) return value.ref;
  if (value instanceof SpanLabels) return value;
  return undefined;
}

/** The context manager registered with the OpenTelemetry API, if any. */
function globalContextManager(): ContextManager | undefined {
  const api = contextApi as unknown as { _getContextManager?: () => ContextManager };
  return typeof api._getContextManager === 'function' ? api._getContextManager() : undefined;
}

interface AttachToken {
  dispose(): void;
}
type AttachFn = (ctx: Context) => AttachToken;
type AnyFn = (...args: unknown[]) => unknown;
/** `ContextManager.with`, without its generics. */
type WithFn = (this: ContextManager, ctx: Context, fn: AnyFn, thisArg?: unknown, ...args: unknown[]) => unknown;

/** Deeper nesting of async callbacks than this resets the restore stack. */
const MAX_DEPTH = 1024;

const NO_LABELS: SpanLabels | undefined = undefined;
const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** Index of the sample counter in the profiler's shared state array. */
const SAMPLE_COUNT_INDEX: number = time.constants.kSampleCount ?? 0;

/**
 * Keeps the profiler's sample context equal to the labels of the span that
 * OpenTelemetry considers active.
 *
 * On AsyncContextFrame (`async-frame`), the sample context rides in the frame
 * next to the OpenTelemetry context, so asynchronous continuations carry it by
 * themselves. When the registered manager is OpenTelemetry's stock
 * `AsyncLocalStorageContextManager`, its storage is replaced by a
 * `ContextStorage`, and one frame entry holds both contexts. Any other manager
 * has its `with` and `attach` wrapped (never replaced): a frame of pprof's
 * storage is entered around its own.
 *
 * With `async-hooks`, synchronous changes are caught by that same wrapping and
 * asynchronous continuations by an `async_hooks` before/after hook that
 * re-reads the active context.
 */
export class ContextTracker {
  private running = false;
  private hook: AsyncHook | undefined;
  private manager: ContextManager | undefined;
  private originalWith: WithFn | undefined;
  private originalAttach: AttachFn | undefined;

  // async-hooks mode state
  private current: SpanLabels | undefined = NO_LABELS;
  private holder = new SampleContextHolder(NO_LABELS);
  private sampleCounter: Uint32Array | undefined;
  private seenSamples = -1;
  private readonly restore: (SpanLabels | undefined)[] = new Array<SpanLabels | undefined>(MAX_DEPTH);
  private depth = 0;

  // async-frame mode: pprof's storage; the adopted manager's storage, or holders for the wrapped one
  private pprof: PprofStorage | undefined;
  private storage: ContextStorage | undefined;
  private frames: FrameHolders | undefined;

  constructor(readonly strategy: TrackingStrategy) {}

  /** Starts tracking; the wall profiler must already be started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.strategy === 'async-hooks') {
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
          logger.debug('async hook failed', err);
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
          logger.debug('async hook failed', err);
        }
      };
      this.hook = createHook({ before, after }).enable();
    }
    if (this.strategy === 'async-frame') this.pprof = PprofStorage.find();
    this.patchContextManager();
  }

  /** Stops tracking and puts the context manager's methods back where it can. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.hook?.disable();
    this.hook = undefined;
    this.restore.fill(NO_LABELS);
    this.current = NO_LABELS;
    this.holder = new SampleContextHolder(NO_LABELS);
    this.sampleCounter = undefined;
    this.unpatchContextManager();
    this.frames?.dispose();
    this.frames = undefined;
    this.pprof?.dispose();
    this.pprof = undefined;
  }

  /**
   * After the profiler restarted (each collection) its sample counter starts
   * again from zero: install a fresh holder so no sample of the new period can
   * share a holder with one of the old.
   */
  profilerRestarted(): void {
    if (!this.running || this.strategy !== 'async-hooks') return;
    this.seenSamples = -1;
    this.write(this.current);
  }

  /**
   * Wraps the registered context manager if it is not wrapped yet; called again
   * from span starts, which catches a manager registered (or replaced) after the
   * profiler started.
   */
  patchContextManager(): void {
    if (!this.running) return;
    const manager = globalContextManager();
    if (manager === undefined || manager === this.manager) return;
    this.unpatchContextManager();
    // The no-op manager of the API (nothing registered yet) is never wrapped.
    if (manager.constructor?.name === 'NoopContextManager') return;
    this.manager = manager;
    if (this.pprof !== undefined) {
      this.storage = ContextStorage.adopt(manager, this.pprof);
      if (this.storage !== undefined) return;
    }
    if (this.strategy === 'async-frame') this.frames ??= new FrameHolders(this.pprof);
    // Async hooks run in the order they were enabled. A manager that tracks the
    // context with hooks of its own (AsyncHooksContextManager) was enabled after
    // ours when the processor was built first: re-enable ours to run after it.
    if (this.hook !== undefined) {
      this.hook.disable();
      this.hook.enable();
    }
    const tracker = this;
    const originalWith = manager.with as unknown as WithFn;
    this.originalWith = originalWith;
    // No rest parameter: `with` runs for every context switch an instrumentation
    // makes, and almost never gets extra arguments.
    const spanprofWith = function spanprofWith(this: ContextManager, ctx: Context, fn: AnyFn, thisArg?: unknown): unknown {
      if (!tracker.running) return originalWith.apply(this, arguments as unknown as Parameters<WithFn>);
      const args = arguments.length > 3 ? (Array.prototype.slice.call(arguments, 3) as unknown[]) : NO_ARGS;
      return tracker.runWith(this, originalWith, ctx, fn, thisArg, args);
    };
    manager.with = spanprofWith as unknown as ContextManager['with'];
    const withAttach = manager as ContextManager & { attach?: AttachFn };
    if (typeof withAttach.attach === 'function') {
      const originalAttach = withAttach.attach;
      this.originalAttach = originalAttach;
      withAttach.attach = function spanprofAttach(this: ContextManager, ctx: Context): AttachToken {
        const token = originalAttach.call(this, ctx);
        return tracker.running ? tracker.trackAttach(token, ctx) : token;
      };
    }
  }

  /** Whether a registered context manager is followed now. */
  wrapsManager(): boolean {
    return this.manager !== undefined;
  }

  /** How the registered context manager is followed, if one is. */
  managerMode(): ContextManagerMode | undefined {
    if (this.manager === undefined) return undefined;
    return this.storage !== undefined ? 'storage' : 'wrapped';
  }

  private unpatchContextManager(): void {
    const manager = this.manager as (ContextManager & { attach?: AttachFn }) | undefined;
    if (manager === undefined) return;
    if (this.storage !== undefined) {
      // The storage stays in the manager: continuations created meanwhile read their context from it.
      this.storage.detach();
      this.storage = undefined;
      this.manager = undefined;
      return;
    }
    // Methods wrapped again by someone else stay; ours then pass straight through.
    if (this.originalWith !== undefined && manager.with.name === 'spanprofWith') {
      manager.with = this.originalWith as unknown as ContextManager['with'];
    }
    if (this.originalAttach !== undefined && manager.attach?.name === 'spanprofAttach') {
      manager.attach = this.originalAttach;
    }
    this.manager = undefined;
    this.originalWith = undefined;
    this.originalAttach = undefined;
  }

  private activeLabels(): SpanLabels | undefined {
    const manager = this.manager;
    return labelsOfContext(manager !== undefined ? manager.active() : contextApi.active());
  }

  private runWith(
    manager: ContextManager,
    originalWith: WithFn,
    ctx: Context,
    fn: AnyFn,
    thisArg: unknown,
    args: readonly unknown[],
  ): unknown {
    const next = labelsOfContext(ctx);
    if (this.strategy === 'async-hooks') {
      const previous = this.current;
      if (next === previous) return callWith(manager, originalWith, ctx, fn, thisArg, args);
      this.write(next);
      try {
        return callWith(manager, originalWith, ctx, fn, thisArg, args);
      } finally {
        this.write(previous);
      }
    }
    // async-frame: the sample context rides in the AsyncContextFrame next to the
    // OpenTelemetry context. A frame of pprof's storage holding it is entered
    // around the manager's `with`; both frames end when `fn` returns, and
    // continuations created in `fn` carry both. No restore needed. The span's
    // first switch has pprof make its context holder; later ones reuse it.
    const previous = labelsOfContext(manager.active());
    if (next === previous || !time.isStarted() || this.frames === undefined) return callWith(manager, originalWith, ctx, fn, thisArg, args);
    return this.frames.run(next, () => callWith(manager, originalWith, ctx, fn, thisArg, args));
  }

  private trackAttach(token: AttachToken, ctx: Context): AttachToken {
    const next = labelsOfContext(ctx);
    if (this.strategy === 'async-hooks') this.write(next);
    else setFrameContext(next);
    const tracker = this;
    const dispose = (): void => {
      token.dispose();
      if (!tracker.running) return;
      const labels = tracker.activeLabels();
      if (tracker.strategy === 'async-hooks') tracker.write(labels);
      else setFrameContext(labels);
    };
    const wrapped: AttachToken & { [Symbol.dispose]?: () => void } = { dispose };
    if (typeof Symbol.dispose === 'symbol') wrapped[Symbol.dispose] = dispose;
    return wrapped;
  }

  /** async-hooks mode: make `labels` the sample context, with no native call unless a sample was taken. */
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
        logger.debug('setContext failed', err);
      }
    } else {
      this.holder.ref = labels;
    }
  }
}

function callWith(manager: ContextManager, originalWith: WithFn, ctx: Context, fn: AnyFn, thisArg: unknown, args: readonly unknown[]): unknown {
  return args.length === 0 ? originalWith.call(manager, ctx, fn, thisArg) : originalWith.call(manager, ctx, fn, thisArg, ...args);
}

function setFrameContext(labels: SpanLabels | undefined): void {
  try {
    time.setContext(labels);
  } catch (err) {
    logger.debug('setContext failed', err);
  }
}
