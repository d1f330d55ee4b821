import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, context as contextApi, createContextKey } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ContextStorage } from './ContextStorage';
import type { HolderFactory } from './ContextStorage';
import { logger } from './diag';

/** What the manager keeps the active context in: an AsyncLocalStorage, or a `ContextStorage` over the profiler's. */
export interface ContextStore {
  getStore(): Context | undefined;
  run(ctx: Context, fn: (...args: unknown[]) => unknown, ...args: unknown[]): unknown;
  enterWith(ctx: Context): void;
  disable(): void;
}

/**
 * What a context tracker hooks into the manager when the profiler's sample
 * context cannot ride in the manager's own frames (async hooks, or pprof's
 * storage not found): told of every switch and attach.
 */
export interface SwitchObserver {
  /** Runs `enter()` (which makes `ctx` active) with the sample context set to `ctx`'s meanwhile. */
  switchTo(ctx: Context, enter: () => unknown): unknown;
  /**
   * Optional, instead of `switchTo` (no closure per switch): the sample context is set to
   * `ctx`'s; what it returns is handed to `leave` when the switch ends.
   */
  enter?(ctx: Context): unknown;
  leave?(entered: unknown): void;
  /** `ctx` was made active by `attach`, or again by its token's `dispose`. */
  attached(ctx: Context): void;
}

/** A scope token of `attach` (OpenTelemetry API 1.10's `ContextManagementToken`). */
export interface ContextToken {
  dispose(): void;
}

const PROBE = createContextKey('spanprof context manager probe');
/** The managers made in this process (weakly): the tracker looks for the registered one among them. */
const made = new Set<WeakRef<SpanprofContextManager>>();
let generation = 0;

/**
 * OpenTelemetry's context manager for Node.js, from spanprof: it behaves as the
 * stock `AsyncLocalStorageContextManager` (it is one: `bind` and event emitters
 * are the stock code's), and while spanprof profiles it keeps the profiler's
 * sample context in the same frame as the OpenTelemetry context, so a span
 * switch costs one frame entry and continuations carry both.
 *
 * Register it where the context manager is chosen:
 * `new NodeSDK({ contextManager: new SpanprofContextManager(), ... })`,
 * `provider.register({ contextManager: new SpanprofContextManager() })`, or
 * `context.setGlobalContextManager(new SpanprofContextManager().enable())`.
 * `@spanprof/auto/register` registers it itself. With any other manager,
 * spanprof wraps the manager's `with` and `attach` instead, at a higher cost
 * (`stats().contextManager` says which).
 */
export class SpanprofContextManager extends AsyncLocalStorageContextManager {
  private store: ContextStore = new AsyncLocalStorage<Context>();
  private observer: SwitchObserver | undefined;
  private disabled = false;

  constructor() {
    super();
    made.add(new WeakRef(this));
    generation++;
  }

  override active(): Context {
    return this.store.getStore() ?? ROOT_CONTEXT;
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const cb = (thisArg == null ? fn : fn.bind(thisArg)) as (...args: unknown[]) => unknown;
    const observer = this.observer;
    if (observer === undefined) return (args.length === 0 ? this.store.run(context, cb) : this.store.run(context, cb, ...args)) as ReturnType<F>;
    if (observer.enter === undefined || observer.leave === undefined) {
      return observer.switchTo(context, () => this.store.run(context, cb, ...args)) as ReturnType<F>;
    }
    const entered = observer.enter(context);
    try {
      return (args.length === 0 ? this.store.run(context, cb) : this.store.run(context, cb, ...args)) as ReturnType<F>;
    } finally {
      observer.leave(entered);
    }
  }

  /** Makes `context` active for the rest of the current execution (API 1.10's `context.attach`). */
  override attach(context: Context): ContextToken {
    const previous = this.store.getStore();
    this.store.enterWith(context);
    this.observer?.attached(context);
    let disposed = false;
    const dispose = (): void => {
      if (disposed) return;
      disposed = true;
      this.store.enterWith(previous as Context);
      this.observer?.attached(previous ?? ROOT_CONTEXT);
    };
    const token: ContextToken & { [Symbol.dispose]?: () => void } = { dispose };
    if (typeof Symbol.dispose === 'symbol') token[Symbol.dispose] = dispose;
    return token;
  }

  override enable(): this {
    if (this.disabled) {
      this.disabled = false;
      generation++;
    }
    return this;
  }

  override disable(): this {
    this.store.disable();
    if (!this.disabled) {
      this.disabled = true;
      generation++;
    }
    return this;
  }

  /**
   * @internal The profiler's holders (`factory`) make this manager's frames from
   * now on: one entry per switch carries both contexts. Returns the storage (the
   * tracker detaches it when profiling stops; it stays, for the continuations made under it).
   */
  carryHolders(factory: HolderFactory): ContextStorage {
    const store = this.store;
    if (store instanceof ContextStorage) {
      store.attach(factory);
      return store;
    }
    const storage = new ContextStorage(factory, store);
    this.store = storage;
    return storage;
  }

  /** @internal Every switch and attach is told to `observer` (undefined: no longer). */
  observe(observer: SwitchObserver | undefined): void {
    this.observer = observer;
  }

  /** @internal Whether this manager is enabled and the one the OpenTelemetry API uses. */
  isRegistered(): boolean {
    return !this.disabled && seesProbe(contextApi, this);
  }
}

/**
 * Whether a probe context entered through `enter.with` is what `reader.active()` reads inside:
 * `enter` is `reader`'s own manager, or the API that uses it. Never throws.
 */
export function seesProbe(enter: Pick<ContextManager, 'with'>, reader: Pick<ContextManager, 'active'>): boolean {
  try {
    const probe = ROOT_CONTEXT.setValue(PROBE, true);
    return enter.with(probe, () => reader.active() === probe);
  } catch (err) {
    logger.debug('context manager probe failed', err);
    return false;
  }
}

/** Changes whenever a manager is made, disabled or enabled again. */
export function managersGeneration(): number {
  return generation;
}

/** The SpanprofContextManager the OpenTelemetry API uses, if it uses one. */
export function registeredSpanprofManager(): SpanprofContextManager | undefined {
  for (const ref of made) {
    const manager = ref.deref();
    if (manager === undefined) made.delete(ref);
    else if (manager.isRegistered()) return manager;
  }
  return undefined;
}
