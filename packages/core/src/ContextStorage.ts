import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, createContextKey } from '@opentelemetry/api';
import type { Context, ContextManager } from '@opentelemetry/api';
import { labelsOfContext } from './labels';
import { logger } from './diag';
import type { PprofStorage } from './pprofStorage';
import { hookFailed } from './faults';

/** What the stock `AsyncLocalStorageContextManager` calls on its `_asyncLocalStorage`. */
interface StorageLike {
  getStore(): unknown;
  run(store: unknown, fn: (...args: unknown[]) => unknown, ...args: unknown[]): unknown;
  enterWith(store: unknown): void;
  disable(): void;
}

/** The stock manager (OpenTelemetry JS 2.x and 3.x), as far as spanprof relies on it. */
type StockManager = ContextManager & { _asyncLocalStorage?: unknown };

/**
 * What one frame entry holds: the OpenTelemetry context (`c`) and the key it
 * was made for (`k`). While a profiler runs, a record for a context whose span
 * has labels is one of pprof's context holders, so the profiler reads the
 * span's labels from the very entry that holds the context.
 */
interface ContextRecord {
  c: Context | undefined;
  k: AsyncLocalStorage<unknown>;
}

type Cached = { [RECORD]?: ContextRecord };
type RunFn = (this: AsyncLocalStorage<unknown>, store: unknown, fn: (...args: unknown[]) => unknown, ...args: unknown[]) => unknown;

/** A context's record, cached on the context (a property read per switch; it goes with the context). */
const RECORD = Symbol('@spanprof/core.contextRecord');
const protoRun = AsyncLocalStorage.prototype.run as unknown as RunFn;
const protoGetStore = AsyncLocalStorage.prototype.getStore as (this: AsyncLocalStorage<unknown>) => unknown;
const protoEnterWith = AsyncLocalStorage.prototype.enterWith as (this: AsyncLocalStorage<unknown>, store: unknown) => void;
/** Keys of earlier profilers still read (continuations created under them); older ones are forgotten. */
const MAX_OLDER_KEYS = 16;
const PROBE = createContextKey('spanprof probe');

/**
 * The storage of OpenTelemetry's stock `AsyncLocalStorageContextManager` (what
 * `NodeSDK` and `NodeTracerProvider.register()` install), replaced while
 * spanprof profiles on AsyncContextFrame so that one frame entry carries both
 * the OpenTelemetry context and the profiler's sample context.
 *
 * The manager keeps its methods; only its `_asyncLocalStorage` changes. Its
 * `with` then enters one frame of pprof's storage holding the context's record
 * (a pprof context holder, made once per context and cached on it) instead of
 * a frame of its own storage plus a second one for the profiler, and `active()`
 * reads the context back from that record.
 *
 * Each profiler start has a storage of its own (pprof's holders must never be
 * read by a later profiler), so the key changes then; entries made under
 * earlier keys, and under the manager's own storage before spanprof came, are
 * still read where no newer entry exists, so continuations created before keep
 * their context. When profiling stops the storage stays: records are then plain
 * objects, and the next profiler takes over from there.
 */
export class ContextStorage implements StorageLike {
  private key: AsyncLocalStorage<unknown>;
  private readonly older: AsyncLocalStorage<unknown>[] = [];
  private holders: PprofStorage | undefined;
  private empty: ContextRecord;
  /** Records of contexts that refuse new properties. */
  private readonly sealed = new WeakMap<Context, ContextRecord>();

  private constructor(
    pprof: PprofStorage,
    private readonly original: StorageLike,
  ) {
    this.key = pprof.key;
    this.holders = pprof;
    this.empty = { c: undefined, k: this.key };
  }

  /**
   * Puts a ContextStorage into `manager` (or finds the one already there) and
   * lets it make pprof's holders; undefined, with the manager unchanged, when
   * the manager is not the stock one or does not behave like it. Never throws.
   */
  static adopt(manager: ContextManager, pprof: PprofStorage): ContextStorage | undefined {
    const stock = manager as StockManager;
    try {
      const current = stock._asyncLocalStorage;
      if (current instanceof ContextStorage) {
        current.attach(pprof);
        return current;
      }
      if (manager.constructor?.name !== 'AsyncLocalStorageContextManager' || !(current instanceof AsyncLocalStorage)) return undefined;
      const storage = new ContextStorage(pprof, current);
      stock._asyncLocalStorage = storage;
      if (storage.servesManager(manager)) return storage;
      stock._asyncLocalStorage = current;
      logger.debug('the context manager does not use its storage as expected: its methods are wrapped instead');
    } catch (err) {
      hookFailed('context storage adoption', err, "the context manager's methods are wrapped instead");
    }
    return undefined;
  }

  /** A profiler (re)started: make its holders, under its key from now on. */
  attach(pprof: PprofStorage): void {
    this.holders = pprof;
    if (pprof.key === this.key) return;
    this.older.unshift(this.key);
    if (this.older.length > MAX_OLDER_KEYS) this.older.length = MAX_OLDER_KEYS;
    this.key = pprof.key;
    this.empty = { c: undefined, k: this.key };
  }

  /** The profiler stopped: plain records from now on (its holders are never made again). */
  detach(): void {
    this.holders = undefined;
  }

  getStore(): Context | undefined {
    const record = protoGetStore.call(this.key) as ContextRecord | undefined;
    if (record !== undefined) return record.c;
    for (let i = 0; i < this.older.length; i++) {
      const older = protoGetStore.call(this.older[i]) as ContextRecord | undefined;
      if (older !== undefined) return older.c;
    }
    return this.original.getStore() as Context | undefined;
  }

  // No rest parameter: the manager's `with` calls this at every switch, almost never with arguments.
  run(ctx: Context, fn: (...args: unknown[]) => unknown): unknown {
    const record = this.recordOf(ctx);
    if (arguments.length <= 2) return protoRun.call(this.key, record, fn);
    return protoRun.call(this.key, record, fn, ...(Array.prototype.slice.call(arguments, 2) as unknown[]));
  }

  enterWith(ctx: Context): void {
    protoEnterWith.call(this.key, this.recordOf(ctx));
  }

  disable(): void {
    this.key.disable();
    for (const older of this.older) older.disable();
    this.original.disable();
  }

  private recordOf(ctx: Context | undefined): ContextRecord {
    // `context.with(undefined, fn)` is tolerated by the stock manager: tolerate it too.
    if (ctx === undefined || ctx === null) return this.empty;
    try {
      const cached = (ctx as Cached)[RECORD];
      // `c` is checked too: a copy of a context (spread) would carry its original's record.
      if (cached !== undefined && cached.k === this.key && cached.c === ctx) return cached;
      return this.newRecord(ctx);
    } catch (err) {
      // A context object that refuses to be read or extended (a Proxy, say) still runs, unlabelled and uncached.
      logger.debug('context record not cached', err);
      return { c: ctx, k: this.key };
    }
  }

  private newRecord(ctx: Context): ContextRecord {
    const key = this.key;
    const extensible = Object.isExtensible(ctx);
    if (!extensible) {
      const sealed = this.sealed.get(ctx);
      if (sealed !== undefined && sealed.k === key) return sealed;
    }
    const labels = this.holders !== undefined ? labelsOfContext(ctx) : undefined;
    const holder = labels !== undefined ? this.holders?.holder(labels) : undefined;
    const record = (holder ?? {}) as ContextRecord;
    record.c = ctx;
    record.k = key;
    if (extensible) (ctx as Cached)[RECORD] = record;
    else this.sealed.set(ctx, record);
    return record;
  }

  /** Whether the manager's `with` and `active` go through this storage. */
  private servesManager(manager: ContextManager): boolean {
    const probe = ROOT_CONTEXT.setValue(PROBE, true);
    const inside = manager.with(probe, () => manager.active() === probe && (protoGetStore.call(this.key) as ContextRecord | undefined)?.c === probe);
    return inside && manager.active() !== probe;
  }
}
