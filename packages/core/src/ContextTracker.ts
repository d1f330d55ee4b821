import { context as contextApi } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { labelsOfContext } from './labels';
import type { SpanLabels } from './labels';

/** The two ways the sample context follows the active span. */
export type TrackingStrategy = 'async-frame' | 'async-hooks';
/** How the registered context manager is followed (see SessionStats.contextManager). */
export type ContextManagerMode = 'storage' | 'wrapped';

/** The context manager registered with the OpenTelemetry API, if any. */
function globalContextManager(): ContextManager | undefined {
  const api = contextApi as unknown as { _getContextManager?: () => ContextManager };
  return typeof api._getContextManager === 'function' ? api._getContextManager() : undefined;
}

export interface AttachToken {
  dispose(): void;
}
type AttachFn = (ctx: Context) => AttachToken;
export type AnyFn = (...args: unknown[]) => unknown;
/** `ContextManager.with`, without its generics. */
export type WithFn = (this: ContextManager, ctx: Context, fn: AnyFn, thisArg?: unknown, ...args: unknown[]) => unknown;

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/**
 * Keeps the profiler's sample context equal to the labels of the span that
 * OpenTelemetry considers active. This base class follows the registered
 * context manager: it wraps the manager's `with` and `attach` (never replaces
 * the manager), or lets a strategy adopt the manager's storage instead. How a
 * context change reaches the profiler, and how asynchronous continuations get
 * theirs, is the strategy's: `AsyncFrameTracker` (the sample context rides in
 * AsyncContextFrame) or `AsyncHooksTracker` (one global slot, updated by
 * `async_hooks` at every async switch).
 */
export abstract class ContextTracker {
  abstract readonly strategy: TrackingStrategy;
  protected running = false;
  protected manager: ContextManager | undefined;
  private originalWith: WithFn | undefined;
  private originalAttach: AttachFn | undefined;

  /** Starts tracking; the wall profiler must already be started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.begin();
    this.patchContextManager();
  }

  /** Stops tracking and puts the context manager's methods back where it can. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.unpatchContextManager();
    this.end();
  }

  /** The profiler restarted (each collection); a strategy that keeps per-period state resets it. */
  profilerRestarted(): void {}

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
    if (this.adopt(manager)) return;
    this.beforeWrap();
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
    return this.adopted() ? 'storage' : 'wrapped';
  }

  /** The strategy's own start, before the manager is looked up. */
  protected abstract begin(): void;
  /** The strategy's own stop, after the manager's methods are put back. */
  protected abstract end(): void;
  /** Runs the manager's `with` so that the sample context is `ctx`'s while `fn` runs. */
  protected abstract runWith(manager: ContextManager, originalWith: WithFn, ctx: Context, fn: AnyFn, thisArg: unknown, args: readonly unknown[]): unknown;
  /** Makes `labels` the sample context now (`attach`, and after its token's `dispose`). */
  protected abstract setLabels(labels: SpanLabels | undefined): void;

  /** Takes over the manager's storage instead of wrapping it; true when done. */
  protected adopt(_manager: ContextManager): boolean {
    return false;
  }

  /** Whether the current manager's storage was adopted. */
  protected adopted(): boolean {
    return false;
  }

  /** Lets go of an adopted storage; true when the manager's storage was adopted (nothing to unwrap then). */
  protected release(): boolean {
    return false;
  }

  /** Called once a manager is about to be wrapped. */
  protected beforeWrap(): void {}

  /** The labels of the active OpenTelemetry context. */
  protected activeLabels(): SpanLabels | undefined {
    const manager = this.manager;
    return labelsOfContext(manager !== undefined ? manager.active() : contextApi.active());
  }

  private unpatchContextManager(): void {
    const manager: (ContextManager & { attach?: AttachFn }) | undefined = this.manager;
    if (manager === undefined) return;
    if (this.release()) {
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

  private trackAttach(token: AttachToken, ctx: Context): AttachToken {
    this.setLabels(labelsOfContext(ctx));
    const dispose = (): void => {
      token.dispose();
      if (this.running) this.setLabels(this.activeLabels());
    };
    const wrapped: AttachToken & { [Symbol.dispose]?: () => void } = { dispose };
    if (typeof Symbol.dispose === 'symbol') wrapped[Symbol.dispose] = dispose;
    return wrapped;
  }
}

/** Calls the manager's own `with`. */
export function callWith(manager: ContextManager, originalWith: WithFn, ctx: Context, fn: AnyFn, thisArg: unknown, args: readonly unknown[]): unknown {
  return args.length === 0 ? originalWith.call(manager, ctx, fn, thisArg) : originalWith.call(manager, ctx, fn, thisArg, ...args);
}
