import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@opentelemetry/api';
import { labelsOfContext, SpanLabels } from './labels';
import { logger } from './diag';

/** Where a context's storage comes from: the profiler's storage (`key`) and its context holders. */
export interface HolderFactory {
  /** The AsyncLocalStorage whose frames the profiler reads its sample context from. */
  readonly key: AsyncLocalStorage<unknown>;
  /** A new holder whose sample context is `value`; undefined if none could be made. */
  holder(value: object | undefined): object | undefined;
  /**
   * Runs `fn(holder)` in a frame of `key` holding a new holder whose sample context is
   * `value` (one frame entry); `fn(undefined)`, in no new frame, if none could be made.
   */
  runWithNewHolder<R>(value: object, fn: (holder: object | undefined) => R): R;
}

/** The storage a ContextStorage took over from (its entries are still read). */
interface Fallback {
  getStore(): Context | undefined;
  disable(): void;
}

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

/**
 * The storage of `SpanprofContextManager` while spanprof profiles on
 * AsyncContextFrame: one frame entry per switch carries both the OpenTelemetry
 * context and the profiler's sample context. The manager's `with` enters one
 * frame of the profiler's storage holding the context's record (a context
 * holder of the profiler's, made once per context and cached on it), and
 * `active()` reads the context back from that record.
 *
 * Each profiler start has a storage of its own (a profiler's holders must never
 * be read by a later one), so the key changes then; entries made under earlier
 * keys, and in the manager's storage before spanprof came, are still read where
 * no newer entry exists, so continuations created before keep their context.
 * When profiling stops the storage stays: records are then plain objects, and
 * the next profiler takes over from there.
 */
export class ContextStorage {
  private key: AsyncLocalStorage<unknown>;
  private readonly older: AsyncLocalStorage<unknown>[] = [];
  private holders: HolderFactory | undefined;
  private empty: ContextRecord;
  /** Records of contexts that refuse new properties. */
  private readonly sealed = new WeakMap<Context, ContextRecord>();

  constructor(
    pprof: HolderFactory,
    private readonly original: Fallback,
  ) {
    this.key = pprof.key;
    this.holders = pprof;
    this.empty = { c: undefined, k: this.key };
  }

  /** A profiler (re)started: make its holders, under its key from now on. */
  attach(pprof: HolderFactory): void {
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
    return this.original.getStore();
  }

  // No rest parameter: the manager's `with` calls this at every switch, almost never with arguments.
  run(ctx: Context, fn: (...args: unknown[]) => unknown): unknown {
    const args = arguments.length <= 2 ? undefined : (Array.prototype.slice.call(arguments, 2) as unknown[]);
    const key = this.key;
    const record = this.recordOf(ctx);
    if (!(record instanceof SpanLabels)) return args === undefined ? protoRun.call(key, record, fn) : protoRun.call(key, record, fn, ...args);
    // The first switch into a labelled context: pprof enters a frame holding a new holder of
    // the span's labels, and the holder becomes the context's record in that very frame.
    return this.holders!.runWithNewHolder(record, (holder) => {
      const made = this.keep(ctx, holder, key);
      if (holder !== undefined) return args === undefined ? fn() : fn(...args);
      return args === undefined ? protoRun.call(key, made, fn) : protoRun.call(key, made, fn, ...args);
    });
  }

  enterWith(ctx: Context): void {
    const key = this.key;
    const record = this.recordOf(ctx);
    protoEnterWith.call(key, record instanceof SpanLabels ? this.keep(ctx, this.holders?.holder(record), key) : record);
  }

  disable(): void {
    this.key.disable();
    for (const older of this.older) older.disable();
    this.original.disable();
  }

  /** The context's record; for a labelled context seen first while a profiler runs, its labels (a holder is to be made). */
  private recordOf(ctx: Context | undefined): ContextRecord | SpanLabels {
    // `context.with(undefined, fn)` is tolerated by the stock manager: tolerate it too.
    if (ctx === undefined || ctx === null) return this.empty;
    const key = this.key;
    try {
      const cached = (ctx as Cached)[RECORD];
      // `c` is checked too: a copy of a context (spread) would carry its original's record.
      if (cached !== undefined && cached.k === key && cached.c === ctx) return cached;
      if (!Object.isExtensible(ctx)) {
        const sealed = this.sealed.get(ctx);
        if (sealed !== undefined && sealed.k === key) return sealed;
      }
      const labels = this.holders !== undefined ? labelsOfContext(ctx) : undefined;
      return labels !== undefined ? labels : this.keep(ctx, undefined, key);
    } catch (err) {
      // A context object that refuses to be read or extended (a Proxy, say) still runs, unlabelled and uncached.
      logger.debug('context record not cached', err);
      return { c: ctx, k: key };
    }
  }

  /** Makes `holder` (or a plain object) the context's record under `key`, cached on the context. */
  private keep(ctx: Context, holder: object | undefined, key: AsyncLocalStorage<unknown>): ContextRecord {
    const record = (holder ?? {}) as ContextRecord;
    record.c = ctx;
    record.k = key;
    try {
      if (Object.isExtensible(ctx)) (ctx as Cached)[RECORD] = record;
      else this.sealed.set(ctx, record);
    } catch (err) {
      logger.debug('context record not cached', err);
    }
    return record;
  }
}
