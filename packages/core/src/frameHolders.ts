import { AsyncLocalStorage } from 'node:async_hooks';
import { time } from '@datadog/pprof';
import type { SpanLabels } from './labels';
import { logger } from './diag';

/** Spans whose context holder is kept for reuse. */
const SLOTS = 4096;

type RunFn = <R>(store: unknown, fn: (...args: unknown[]) => R, ...args: unknown[]) => R;

/**
 * Faster span switches in `async-frame` mode. `time.runWithContext(ctx, fn)`
 * enters a frame of pprof's own AsyncLocalStorage holding a native "context
 * holder" it creates anew at every call (about 400 ns). A holder only wraps
 * the context object, so one holder per span can be reused: this finds pprof's
 * storage once (the instance whose `run` its `runWithContext` calls), keeps the
 * holder made at a span's first switch, and enters later switches with the
 * plain `run` of that storage. If pprof works otherwise, nothing is found and
 * every switch goes through `runWithContext`, as before.
 *
 * A holder keeps its context alive from a native root, so a holder referenced
 * from its own span's label object would never be freed. Holders live instead
 * in a ring of SLOTS recent spans (the label object keeps only its slot number):
 * a span switched into again while it is in the ring reuses its holder; the
 * ring bounds what is retained.
 */
export class FrameHolders {
  private readonly store: AsyncLocalStorage<unknown> | undefined;
  private readonly protoRun: RunFn = AsyncLocalStorage.prototype.run as unknown as RunFn;
  /**
   * Set by run() just before it calls runWithContext for a span without a
   * holder: the wrapper on pprof's storage files the holder it is handed under
   * these labels at once, before `fn` runs (so nested switches and exceptions
   * in `fn` cannot mix holders up), and clears the flag. Calls that did not
   * come from run() find it clear and are left alone.
   */
  private pending = false;
  private pendingLabels: SpanLabels | undefined;
  private wrapper: unknown;
  private noLabelsHolder: unknown;
  private readonly slotLabels: (SpanLabels | undefined)[] = new Array<SpanLabels | undefined>(SLOTS).fill(undefined);
  private readonly slotHolders: unknown[] = new Array<unknown>(SLOTS).fill(undefined);
  private nextSlot = 0;

  constructor() {
    this.store = this.findStore();
  }

  /** Runs `fn()` in a frame whose sample context is `labels` (no arguments: nothing to spread). */
  run<R>(labels: SpanLabels | undefined, fn: () => R): R {
    const store = this.store;
    if (store !== undefined) {
      let holder: unknown;
      if (labels === undefined) holder = this.noLabelsHolder;
      else if (labels.frameSlot >= 0 && this.slotLabels[labels.frameSlot] === labels) holder = this.slotHolders[labels.frameSlot];
      if (holder !== undefined) return this.protoRun.call(store, holder, fn) as R;
      this.pending = true;
      this.pendingLabels = labels;
      try {
        return time.runWithContext(labels as object, fn);
      } finally {
        this.pending = false;
        this.pendingLabels = undefined;
      }
    }
    return time.runWithContext(labels as object, fn);
  }

  /** Called by the wrapper on pprof's storage with the holder pprof just made. */
  private filePending(holder: unknown): void {
    if (!this.pending) return;
    const labels = this.pendingLabels;
    this.pending = false;
    this.pendingLabels = undefined;
    this.remember(labels, holder);
  }

  private remember(labels: SpanLabels | undefined, holder: unknown): void {
    if (holder === undefined || holder === null) return;
    if (labels === undefined) {
      this.noLabelsHolder = holder;
      return;
    }
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % SLOTS;
    const evicted = this.slotLabels[slot];
    if (evicted !== undefined && evicted.frameSlot === slot) evicted.frameSlot = -1;
    this.slotLabels[slot] = labels;
    this.slotHolders[slot] = holder;
    labels.frameSlot = slot;
  }

  /**
   * pprof's storage, found by watching which AsyncLocalStorage its
   * runWithContext enters; undefined (holders are then not reused) if anything
   * about that fails. Never throws.
   */
  private findStore(): AsyncLocalStorage<unknown> | undefined {
    const proto = AsyncLocalStorage.prototype as unknown as { run: RunFn };
    const protoRun = this.protoRun;
    let found: AsyncLocalStorage<unknown> | undefined;
    const probe = {};
    let patched = false;
    try {
      const watch = function (this: AsyncLocalStorage<unknown>, store: unknown, fn: (...a: unknown[]) => unknown, ...args: unknown[]) {
        if (found === undefined) found = this;
        return protoRun.call(this, store, fn, ...args);
      } as RunFn;
      proto.run = watch;
      patched = proto.run === watch;
      const seen = time.runWithContext(probe, () => time.getContext());
      if (!patched || seen !== probe) found = undefined;
    } catch (err) {
      logger.debug('pprof storage not found', err);
      found = undefined;
    } finally {
      try {
        if (proto.run !== protoRun) proto.run = protoRun;
      } catch (err) {
        logger.debug('AsyncLocalStorage.prototype.run could not be put back', err);
      }
    }
    if (found === undefined) return undefined;
    // From now on, runWithContext on this storage hands us the holder it made.
    const holders = this;
    const wrapper = function run(this: AsyncLocalStorage<unknown>, store: unknown, fn: (...a: unknown[]) => unknown, ...args: unknown[]) {
      holders.filePending(store);
      return args.length === 0 ? protoRun.call(this, store, fn) : protoRun.call(this, store, fn, ...args);
    };
    try {
      Object.defineProperty(found, 'run', { configurable: true, writable: true, value: wrapper });
    } catch (err) {
      logger.debug('pprof storage could not be wrapped', err);
      return undefined;
    }
    this.wrapper = wrapper;
    return found;
  }

  /** Puts pprof's storage back as it was and lets every holder go. */
  dispose(): void {
    for (let i = 0; i < SLOTS; i++) {
      const labels = this.slotLabels[i];
      if (labels !== undefined && labels.frameSlot === i) labels.frameSlot = -1;
    }
    this.slotLabels.fill(undefined);
    this.slotHolders.fill(undefined);
    this.noLabelsHolder = undefined;
    const store = this.store as unknown as { run?: unknown } | undefined;
    if (store !== undefined && Object.getOwnPropertyDescriptor(store, 'run')?.value === this.wrapper) delete store.run;
  }
}
