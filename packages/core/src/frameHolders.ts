import { time } from '@datadog/pprof';
import type { SpanLabels } from './labels';
import type { PprofStorage } from './pprofStorage';

/** Spans whose context holder is kept for reuse. */
const SLOTS = 4096;

/**
 * Span switches in `async-frame` mode when the registered context manager is
 * not the stock one (which `ContextStorage` serves with one frame per switch):
 * a frame of pprof's storage holding the span's sample context is entered
 * around the manager's `with`. `time.runWithContext` would make a new native
 * holder at every call; a holder only wraps the context object, so one holder
 * per span is made (in the frame of its first switch) and reused. Without pprof's storage,
 * every switch goes through `runWithContext`.
 *
 * A holder keeps its context alive from a native root, so a holder referenced
 * from its own span's label object would never be freed. Holders live instead
 * in a ring of SLOTS recent spans (the label object keeps only its slot number):
 * a span switched into again while it is in the ring reuses its holder; the
 * ring bounds what is retained.
 */
export class FrameHolders {
  private noLabelsHolder: object | undefined;
  private readonly slotLabels: (SpanLabels | undefined)[] = new Array<SpanLabels | undefined>(SLOTS).fill(undefined);
  private readonly slotHolders: (object | undefined)[] = new Array<object | undefined>(SLOTS).fill(undefined);
  private nextSlot = 0;

  constructor(private readonly storage: PprofStorage | undefined) {}

  /** Runs `fn()` in a frame whose sample context is `labels` (no arguments: nothing to spread). */
  run<R>(labels: SpanLabels | undefined, fn: () => R): R {
    const storage = this.storage;
    if (storage === undefined) return time.runWithContext(labels as object, fn);
    let holder: object | undefined;
    if (labels === undefined) holder = this.noLabelsHolder ??= storage.holder(undefined);
    else if (labels.frameSlot >= 0 && this.slotLabels[labels.frameSlot] === labels) holder = this.slotHolders[labels.frameSlot];
    else {
      // The span's first switch: its holder is made in the frame that runs `fn`.
      return storage.runWithNewHolder(labels, (made) => {
        if (made === undefined) return time.runWithContext(labels, fn);
        this.remember(labels, made);
        return fn();
      });
    }
    return holder !== undefined ? storage.run(holder, fn) : time.runWithContext(labels as object, fn);
  }

  private remember(labels: SpanLabels, holder: object): void {
    const slot = this.nextSlot;
    this.nextSlot = (slot + 1) % SLOTS;
    const evicted = this.slotLabels[slot];
    if (evicted !== undefined && evicted.frameSlot === slot) evicted.frameSlot = -1;
    this.slotLabels[slot] = labels;
    this.slotHolders[slot] = holder;
    labels.frameSlot = slot;
  }

  /** Lets every holder go. */
  dispose(): void {
    for (let i = 0; i < SLOTS; i++) {
      const labels = this.slotLabels[i];
      if (labels !== undefined && labels.frameSlot === i) labels.frameSlot = -1;
    }
    this.slotLabels.fill(undefined);
    this.slotHolders.fill(undefined);
    this.noLabelsHolder = undefined;
  }
}
