import { performance } from 'node:perf_hooks';
import type { EventInput, EventLabel } from '@spanprof/profile';
import { LABEL_DELAYED_COUNT, LABEL_DELAYED_ENDPOINT, LABEL_REQUESTS_IN_FLIGHT, LABEL_REQUESTS_QUEUED } from '@spanprof/profile';
import { logger } from './diag';
import type { LocalRoot } from './labels';
import { lastStartingBy } from './events/sorted';

/** Most blocks one period keeps; past it they are counted, not kept. */
export const MAX_BLOCKS_PER_PERIOD = 1000;
/** Requests a block remembers (in flight across it, or waiting until it ended); past it they are only counted. */
const MAX_REQUESTS_PER_BLOCK = 1000;
/** Endpoints a block names, those with the most requests it delayed. */
const TOP_ENDPOINTS = 5;
/** Requests in flight followed at once; past it, more are not counted in flight. */
const MAX_OPEN_REQUESTS = 10_000;
/** The watchdog's period while requests are in flight, ms. */
const BUSY_PERIOD_MILLIS = 10;

/** One time the event loop did not turn for at least the threshold. */
interface LoopBlock {
  startNanos: bigint;
  endNanos: bigint;
  /** Requests in flight when it ended (their local roots), and how many. */
  inFlight: LocalRoot[];
  inFlightCount: number;
  /** Requests that started in the loop's first turn after it: their I/O waited through it. */
  after: LocalRoot[];
  afterCount: number;
  /** Samples taken inside it, in all and by local root: the requests that blocked, not delayed ones. */
  samples: number;
  byRoot: Map<LocalRoot, number>;
}

/**
 * Finds event-loop blocks: times the loop did not turn for at least `thresholdMillis`. A timer
 * (unref'd) ticks every 10 ms while requests are in flight and every half threshold otherwise;
 * a tick late by at least the threshold less its period means the loop stalled. How long: the
 * loop's active time since the previous tick (libuv's idle time, through
 * `performance.eventLoopUtilization()`), at most the time since that tick, so a block in an
 * otherwise idle process is measured to a fraction of a millisecond, and never off by more than
 * the timer's period. Each block notes the requests in flight when it ended and those that
 * started in the next turn (whose I/O waited through it); the functions and spans that ran during
 * it are the samples taken inside its window.
 */
export class LoopBlockMonitor {
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private last = 0;
  private lastIdle = 0;
  /** Requests in flight: a list through the roots (`openPrev`/`openNext`), newest first, and its length. */
  private openHead: LocalRoot | undefined;
  private openCount = 0;
  private blocks: LoopBlock[] = [];
  private droppedBlocks = 0;
  private afterBlock: LoopBlock | undefined;

  constructor(private readonly thresholdMillis: number) {
    this.delay = this.idlePeriod();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.last = performance.now();
    this.lastIdle = performance.eventLoopUtilization().idle;
    this.arm(this.idlePeriod());
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (let root = this.openHead; root !== undefined;) {
      const next = root.openNext;
      root.openPrev = root.openNext = root.openIn = undefined;
      root = next;
    }
    this.openHead = undefined;
    this.openCount = 0;
    this.afterBlock = undefined;
  }

  /** A request (local root span) started; one that starts in the first turn after a block waited through it. */
  requestStarted(root: LocalRoot): void {
    // Bounded: requests that never end (a span never ended) must not pile up.
    if (this.openCount < MAX_OPEN_REQUESTS && root.openIn === undefined) {
      const head = this.openHead;
      root.openIn = this;
      root.openPrev = undefined;
      root.openNext = head;
      if (head !== undefined) head.openPrev = root;
      this.openHead = root;
      this.openCount++;
    }
    const block = this.afterBlock;
    if (block !== undefined) {
      block.afterCount++;
      if (block.after.length < MAX_REQUESTS_PER_BLOCK) block.after.push(root);
    }
  }

  requestEnded(root: LocalRoot): void {
    if (root.openIn !== this) return;
    const { openPrev: prev, openNext: next } = root;
    if (prev !== undefined) prev.openNext = next;
    else this.openHead = next;
    if (next !== undefined) next.openPrev = prev;
    root.openPrev = root.openNext = root.openIn = undefined;
    this.openCount--;
  }

  /** A sample taken at `micros` (µs since 1970) in `root`'s request: counted by the blocks it falls in. */
  sampledAt(micros: bigint, root: LocalRoot | undefined): void {
    const nanos = micros * 1000n;
    // Blocks are recorded in time order and never overlap: the last one starting by the sample is the only candidate.
    const block = lastStartingBy(this.blocks, nanos, (b) => b.startNanos);
    if (block === undefined || nanos > block.endNanos) return;
    block.samples++;
    if (root !== undefined) block.byRoot.set(root, (block.byRoot.get(root) ?? 0) + 1);
  }

  /** Whether the period has blocks (samples need their roots noted only then). */
  hasBlocks(): boolean {
    return this.blocks.length > 0;
  }

  /** The period's blocks as events; the next period starts empty. `dropped`: blocks past the bound. */
  take(): { events: EventInput[]; dropped: number } {
    const blocks = this.blocks;
    const dropped = this.droppedBlocks;
    this.blocks = [];
    this.droppedBlocks = 0;
    return { events: blocks.map((b) => blockEvent(b)), dropped };
  }

  private idlePeriod(): number {
    return Math.max(BUSY_PERIOD_MILLIS, Math.floor(this.thresholdMillis / 2));
  }

  private arm(delay: number): void {
    this.delay = delay;
    this.timer = setTimeout(this.tick, delay);
    this.timer.unref();
  }

  private readonly tick = (): void => {
    try {
      const now = performance.now();
      const idle = performance.eventLoopUtilization().idle;
      const window = now - this.last;
      // A block of at least the threshold makes this tick at least that late, less its period: the
      // time since the last tick is at least the threshold.
      if (window >= this.thresholdMillis) {
        const active = window - (idle - this.lastIdle);
        const duration = Math.min(active, window);
        if (Number.isFinite(duration) && duration >= this.thresholdMillis) this.record(duration);
      }
      this.last = now;
      this.lastIdle = idle;
    } catch (err) {
      logger.debug('event-loop block check failed', err);
    } finally {
      if (this.timer !== undefined) {
        const next = this.openCount > 0 ? BUSY_PERIOD_MILLIS : this.idlePeriod();
        if (next === this.delay) this.timer.refresh();
        else this.arm(next);
      }
    }
  };

  private record(durationMillis: number): void {
    if (this.blocks.length >= MAX_BLOCKS_PER_PERIOD) {
      this.droppedBlocks++;
      return;
    }
    // The system clock, as the samples' timestamps; the block ended just before this tick.
    const endNanos = BigInt(Date.now()) * 1_000_000n;
    const block: LoopBlock = {
      startNanos: endNanos - BigInt(Math.round(durationMillis * 1e6)),
      endNanos,
      inFlight: [],
      inFlightCount: this.openCount,
      after: [],
      afterCount: 0,
      samples: 0,
      byRoot: new Map(),
    };
    for (let root = this.openHead; root !== undefined && block.inFlight.length < MAX_REQUESTS_PER_BLOCK; root = root.openNext) block.inFlight.push(root);
    this.blocks.push(block);
    this.afterBlock = block;
    // Requests whose I/O arrived during the block start in this turn's poll phase; the check phase ends it.
    setImmediate(() => {
      if (this.afterBlock === block) this.afterBlock = undefined;
    });
  }
}

/**
 * A block as an event: its times; how many requests were in flight when it ended (without those
 * that hold at least a quarter of its samples: they blocked; a stray sample at its edges is not
 * enough) and how many started right after it (queued: their I/O waited through it); the
 * endpoints with the most of these delayed requests.
 */
function blockEvent(block: LoopBlock): EventInput {
  const delayed = new Map<string, number>();
  let inFlight = block.inFlightCount;
  for (const root of block.inFlight) {
    if ((block.byRoot.get(root) ?? 0) * 4 >= block.samples && block.samples > 0) {
      inFlight--;
      continue;
    }
    delayed.set(root.endpoint, (delayed.get(root.endpoint) ?? 0) + 1);
  }
  for (const root of block.after) delayed.set(root.endpoint, (delayed.get(root.endpoint) ?? 0) + 1);
  const extra: EventLabel[] = [
    { key: LABEL_REQUESTS_IN_FLIGHT, num: inFlight },
    { key: LABEL_REQUESTS_QUEUED, num: block.afterCount },
  ];
  for (const [endpoint, count] of [...delayed].sort((a, b) => b[1] - a[1]).slice(0, TOP_ENDPOINTS)) {
    extra.push({ key: LABEL_DELAYED_ENDPOINT, str: endpoint === '' ? '(none)' : endpoint }, { key: LABEL_DELAYED_COUNT, num: count });
  }
  return { kind: 'block', name: 'event loop blocked', startNanos: block.startNanos, endNanos: block.endNanos, labels: {}, extra };
}
