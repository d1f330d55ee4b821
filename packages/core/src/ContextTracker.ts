import { context as contextApi } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { codes, message } from '@spanprof/exporter-base';
import { logger } from './diag';
import { labelsOfContext } from './labels';
import type { SpanLabels } from './labels';
import { managersGeneration, registeredSpanprofManager, seesProbe } from './SpanprofContextManager';
import type { SpanprofContextManager, SwitchObserver } from './SpanprofContextManager';

/** The two ways the sample context follows the active span. */
export type TrackingStrategy = 'async-frame' | 'async-hooks';
/**
 * How the registered context manager is followed (see SessionStats.contextManager):
 * `spanprof` (a SpanprofContextManager tells spanprof of every switch, or carries
 * the sample context in its own frames), `wrapped` (another manager, whose `with`
 * and `attach` are wrapped).
 */
export type ContextManagerMode = 'spanprof' | 'wrapped';

export interface AttachToken {
  dispose(): void;
}
type AttachFn = (ctx: Context) => AttachToken;
export type AnyFn = (...args: unknown[]) => unknown;
/** `ContextManager.with`, without its generics. */
type WithFn = (this: ContextManager, ctx: Context, fn: AnyFn, thisArg?: unknown, ...args: unknown[]) => unknown;

/** Whether the costlier way was already said (once per process). */
let warnedWrapped = false;

/**
 * The context manager the OpenTelemetry API uses. The API has no public getter:
 * this is used only when that manager is not a SpanprofContextManager (which is
 * found without it), to wrap it.
 */
function globalContextManager(): ContextManager | undefined {
  const api = contextApi as unknown as { _getContextManager?: () => ContextManager };
  return typeof api._getContextManager === 'function' ? api._getContextManager() : undefined;
}

/** The wrapping of a manager that is not spanprof's. */
interface Wrapping {
  originalWith: WithFn;
  spanprofWith: WithFn;
  originalAttach?: AttachFn;
  spanprofAttach?: AttachFn;
}

/**
 * Keeps the profiler's sample context equal to the labels of the span that
 * OpenTelemetry considers active. It follows the registered context manager:
 * a SpanprofContextManager is connected to (the strategy has it carry the
 * sample context, or tell it of every switch); any other manager has its `with`
 * and `attach` wrapped (never replaced). How a context change reaches the
 * profiler, and how asynchronous continuations get theirs, is the strategy's:
 * `AsyncFrameTracker` (the sample context rides in AsyncContextFrame) or
 * `AsyncHooksTracker` (one global slot, updated by `async_hooks` at every async
 * switch).
 */
export abstract class ContextTracker {
  abstract readonly strategy: TrackingStrategy;
  protected running = false;
  /** The manager followed, spanprof's or another. */
  protected manager: ContextManager | undefined;
  private own: SpanprofContextManager | undefined;
  private ownGeneration = -1;
  private wrapping: Wrapping | undefined;
  /** The last manager found to keep no context (the API's no-op one): not probed again. */
  private noop: ContextManager | undefined;
  /** What a connected SpanprofContextManager tells of switches, when the strategy needs to know. */
  protected readonly observer: SwitchObserver = {
    switchTo: (ctx, enter) => (this.running ? this.switchTo(ctx, enter) : enter()),
    attached: (ctx) => {
      if (this.running) this.setLabels(labelsOfContext(ctx));
    },
  };

  /** Starts tracking; the wall profiler must already be started. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.begin();
    this.patchContextManager();
  }

  /** Stops tracking and lets the context manager go. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.letGo();
    this.end();
  }

  /** The profiler restarted (each collection); a strategy that keeps per-period state resets it. */
  profilerRestarted(): void {}

  /**
   * Follows the registered context manager if it changed; called again from span
   * starts, which catches a manager registered (or replaced) after the profiler
   * started. Cheap while a SpanprofContextManager is followed.
   */
  patchContextManager(): void {
    if (!this.running) return;
    const generation = managersGeneration();
    if (this.own !== undefined && this.ownGeneration === generation) return;
    const own = registeredSpanprofManager();
    if (own !== undefined) {
      if (own !== this.own) {
        this.letGo();
        this.own = own;
        this.manager = own;
        this.connect(own);
      }
      this.ownGeneration = generation;
      return;
    }
    const manager = globalContextManager();
    if (manager === undefined || manager === this.noop || (manager === this.manager && this.own === undefined)) return;
    this.letGo();
    // The API's no-op manager (used while none is registered) keeps no context: never wrapped.
    if (!seesProbe(manager, manager)) {
      this.noop = manager;
      return;
    }
    this.manager = manager;
    this.wrap(manager);
  }

  /** Whether a registered context manager is followed now. */
  wrapsManager(): boolean {
    return this.manager !== undefined;
  }

  /** How the registered context manager is followed, if one is. */
  managerMode(): ContextManagerMode | undefined {
    if (this.manager === undefined) return undefined;
    return this.own !== undefined ? 'spanprof' : 'wrapped';
  }

  /** The strategy's own start, before the manager is looked up. */
  protected abstract begin(): void;
  /** The strategy's own stop, after the manager was let go. */
  protected abstract end(): void;
  /** Runs `enter()` (which makes `ctx` active) so that the sample context is `ctx`'s while it runs. */
  protected abstract switchTo(ctx: Context, enter: () => unknown): unknown;
  /** Makes `labels` the sample context now (`attach`, and after its token's `dispose`). */
  protected abstract setLabels(labels: SpanLabels | undefined): void;
  /** A SpanprofContextManager is followed from now on: have it carry the sample context, or observe it. */
  protected abstract connect(manager: SpanprofContextManager): void;
  /** The SpanprofContextManager is no longer followed. */
  protected abstract disconnect(manager: SpanprofContextManager): void;

  /** Called once a manager is about to be wrapped. */
  protected beforeWrap(): void {}

  /** The labels of the active OpenTelemetry context. */
  protected activeLabels(): SpanLabels | undefined {
    const manager = this.manager;
    return labelsOfContext(manager !== undefined ? manager.active() : contextApi.active());
  }

  private wrap(manager: ContextManager & { attach?: AttachFn }): void {
    if (!warnedWrapped) {
      warnedWrapped = true;
      logger.warn(
        message(
          codes.COSTLY_CONTEXT_TRACKING,
          "the registered OpenTelemetry context manager is not spanprof's: its with() and attach() are wrapped, which costs more per span switch. " +
            "Register SpanprofContextManager (from '@spanprof/opentelemetry'), e.g. new NodeSDK({ contextManager: new SpanprofContextManager() })",
        ),
      );
    }
    this.beforeWrap();
    const tracker = this;
    const originalWith = manager.with as unknown as WithFn;
    // No rest parameter: `with` runs for every context switch an instrumentation
    // makes, and almost never gets extra arguments.
    const spanprofWith = function spanprofWith(this: ContextManager, ctx: Context, fn: AnyFn, thisArg?: unknown): unknown {
      if (!tracker.running) return originalWith.apply(this, arguments as unknown as Parameters<WithFn>);
      const self = this;
      const args = arguments;
      return tracker.switchTo(ctx, () =>
        args.length <= 3 ? originalWith.call(self, ctx, fn, thisArg) : originalWith.apply(self, args as unknown as Parameters<WithFn>),
      );
    };
    manager.with = spanprofWith as unknown as ContextManager['with'];
    const wrapping: Wrapping = { originalWith, spanprofWith };
    if (typeof manager.attach === 'function') {
      const originalAttach = manager.attach;
      const spanprofAttach = function spanprofAttach(this: ContextManager, ctx: Context): AttachToken {
        const token = originalAttach.call(this, ctx);
        return tracker.running ? tracker.trackAttach(token, ctx) : token;
      };
      manager.attach = spanprofAttach;
      wrapping.originalAttach = originalAttach;
      wrapping.spanprofAttach = spanprofAttach;
    }
    this.wrapping = wrapping;
  }

  /** Disconnects from spanprof's manager, or puts a wrapped manager's methods back where it can. */
  private letGo(): void {
    const manager: (ContextManager & { attach?: AttachFn }) | undefined = this.manager;
    const own = this.own;
    const wrapping = this.wrapping;
    this.manager = undefined;
    this.own = undefined;
    this.ownGeneration = -1;
    this.wrapping = undefined;
    if (own !== undefined) this.disconnect(own);
    if (manager === undefined || wrapping === undefined) return;
    // Methods wrapped again by someone else stay; ours then pass straight through.
    if (manager.with === (wrapping.spanprofWith as unknown)) manager.with = wrapping.originalWith as unknown as ContextManager['with'];
    if (wrapping.spanprofAttach !== undefined && manager.attach === wrapping.spanprofAttach) manager.attach = wrapping.originalAttach;
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
