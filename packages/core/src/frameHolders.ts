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
  /** The holder pprof made at the last runWithContext call, seen by the wrapper on its storage. */
  private lastHolder: unknown;
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
      this.lastHolder = undefined;
      const result = time.runWithContext(labels as object, fn);
      this.remember(labels);
      return result;
    }
    return time.runWithContext(labels as object, fn);
  }

  private remember(labels: SpanLabels | undefined): void {
    const holder = this.lastHolder;
    this.lastHolder = undefined;
    if (holder === undefined || holder === null) return;
    if (labels === undefined) {
      this.noLabelsHolder = holder;
      return;
    }
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % SLOTS;
    const evicted = this.slotLabels[slot];
    if (evicted !== undefined) evicted.frameSlot = -1;
    this.slotLabels[slot] = labels;
    this.slotHolders[slot] = holder;
    labels.frameSlot = slot;
  }

  /** pprof's storage, found by watching which AsyncLocalStorage its runWithContext enters. */
  private findStore(): AsyncLocalStorage<unknown> | undefined {
    const proto = AsyncLocalStorage.prototype as unknown as { run: RunFn };
    const protoRun = this.protoRun;
    let found: AsyncLocalStorage<unknown> | undefined;
    const probe = {};
    try {
      proto.run = function (this: AsyncLocalStorage<unknown>, store: unknown, fn: (...a: unknown[]) => unknown, ...args: unknown[]) {
        if (found === undefined) found = this;
        return protoRun.call(this, store, fn, ...args);
      } as RunFn;
      const seen = time.runWithContext(probe, () => time.getContext());
      if (seen !== probe) found = undefined;
    } catch (err) {
      logger.debug('pprof storage not found', err);
      found = undefined;
    } finally {
      proto.run = protoRun;
    }
    if (found === undefined) return undefined;
    // From now on, runWithContext on this storage tells us the holder it made.
    const holders = this;
    Object.defineProperty(found, 'run', {
      configurable: true,
      writable: true,
      value: function run(this: AsyncLocalStorage<unknown>, store: unknown, fn: (...a: unknown[]) => unknown, ...args: unknown[]) {
        holders.lastHolder = store;
        return args.length === 0 ? protoRun.call(this, store, fn) : protoRun.call(this, store, fn, ...args);
      },
    });
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
    if (this.store !== undefined) delete (this.store as unknown as { run?: unknown }).run;
  }
}
