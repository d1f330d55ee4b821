import { encode, heap, time } from '@datadog/pprof';
import type { Profile } from 'pprof-format';
import { performance } from 'node:perf_hooks';
import { isAsyncContextFrameActive } from './asyncContextFrame';
import { ContextTracker, labelsOfSampleContext } from './ContextTracker';
import type { ContextManagerMode } from './ContextTracker';
import type { TrackingStrategy } from './ContextTracker';
import { logger } from './diag';
import { codes, ExportResultCode, message, withTracingSuppressed } from '@spanprof/exporter-base';
import type { CollectedProfile, ExportResult, ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';
import { FileExporter } from './FileExporter';
import type { LocalRoot, SampleLabels } from './labels';
import { resolveOptions } from './options';
import type { ResolvedOptions } from './options';
import { ProfileMetrics } from './ProfileMetrics';
import { RequestCounter } from './RequestCounter';
import { writeProfileTags, writeRequestCounts } from '@spanprof/profile';
import { processTags } from './tags';
import type { ProfilerOptions } from './types';

/** The wall profiler is one per process: the running session is kept here, across copies of this package. */
const RUNNING_SESSION = Symbol.for('@spanprof/core.runningSession');
type GlobalWithSession = typeof globalThis & { [RUNNING_SESSION]?: ProfilerSession };

/** Batches one exporter may have in flight; a further one is dropped and counted. */
const MAX_IN_FLIGHT_PER_EXPORTER = 2;

const NO_LABELS: SampleLabels = Object.freeze({});

function generateLabels({ context: sampleContext }: { context?: { context?: object } }): SampleLabels {
  const labels = labelsOfSampleContext(sampleContext?.context);
  return labels === undefined ? NO_LABELS : labels.sampleLabels();
}

export interface SessionOptions extends ProfilerOptions {
  /**
   * Tags read at every collection, e.g. the OpenTelemetry resource's
   * attributes. The explicit `tags` option wins over them.
   */
  tagSource?: () => Record<string, string> | undefined;
  /**
   * Who starts the session (`@spanprof/auto/register`), named in the warning a
   * second profiler in the same process gets; such a clash is then also a
   * process warning, shown without any diag logger.
   */
  owner?: string;
}

/** Figures of a session, for diagnostics and benchmarks. */
export interface SessionStats {
  /** How the sample context follows the active span in this process. */
  strategy: TrackingStrategy | undefined;
  /**
   * How the registered OpenTelemetry context manager is followed: `storage` (the
   * stock manager's storage carries the sample context too: one frame per
   * switch, async-frame only), `wrapped` (its `with` and `attach` are wrapped),
   * or undefined (none registered).
   */
  contextManager: ContextManagerMode | undefined;
  batches: number;
  /**
   * Longest event-loop pause of the last collection, ms: the wall profile's stop,
   * restart and serialisation, or the heap profile's, whichever took longer.
   */
  lastCollectPauseMillis: number;
  maxCollectPauseMillis: number;
  /** Batches dropped because an exporter was too far behind. */
  droppedBatches: number;
  failedExports: number;
  /** Times the V8 profiler was found stuck and restarted. */
  v8ProfilerStuck: number;
}

/**
 * One profiling session: the wall/CPU profiler with span-labelled samples, the
 * heap profiler, periodic collection and the export of every batch.
 */
export class ProfilerSession {
  private readonly options: ResolvedOptions;
  private readonly exporters: ProfileExporter[];
  private readonly tagSource: SessionOptions['tagSource'];
  /** See SessionOptions.owner. */
  readonly owner: string | undefined;
  private tracker: ContextTracker | undefined;
  private watchCalls = 0;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private periodStart = new Date();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<void> | undefined;
  private readonly inFlight = new Map<ProfileExporter, number>();
  private readonly figures: Omit<SessionStats, 'contextManager'> = {
    strategy: undefined,
    batches: 0,
    lastCollectPauseMillis: 0,
    maxCollectPauseMillis: 0,
    droppedBatches: 0,
    failedExports: 0,
    v8ProfilerStuck: 0,
  };
  private warnedDrop = false;
  private capturing = false;
  /** Exports under way (each bounded by exportTimeoutMillis); shutdown waits for them. */
  private readonly pendingExports = new Set<Promise<void>>();
  private readonly requests = new RequestCounter();

  constructor(options: SessionOptions = {}) {
    this.options = resolveOptions(options);
    this.tagSource = options.tagSource;
    this.owner = typeof options.owner === 'string' ? options.owner : undefined;
    const exporter = options.exporter;
    this.exporters = exporter === undefined ? [new FileExporter()] : Array.isArray(exporter) ? [...exporter] : [exporter];
    if (this.options.metrics !== false) this.exporters.push(new ProfileMetrics(this.options.metrics));
  }

  /**
   * Starts profiling. Returns false (and warns) when another session already
   * profiles this process or the profiler cannot start; never throws.
   */
  start(): boolean {
    if (this.state !== 'new') return this.state === 'running';
    const global = globalThis as GlobalWithSession;
    const running = global[RUNNING_SESSION];
    if (running !== undefined && running.isRunning()) {
      const by = running.owner !== undefined ? ` (started by ${running.owner})` : '';
      const text = `another spanprof profiler already runs in this process${by}; this one does not profile (spans are still labelled for the running one): configure profiling in one place only`;
      logger.warn(message(codes.PROFILER_ALREADY_RUNNING, text));
      if (running.owner !== undefined || this.owner !== undefined) {
        process.emitWarning(text, { code: codes.PROFILER_ALREADY_RUNNING });
      }
      this.state = 'stopped';
      return false;
    }
    const strategy = this.chooseStrategy();
    try {
      time.start({
        intervalMicros: this.options.samplingIntervalMicros,
        durationMillis: this.options.uploadPeriodMillis,
        withContexts: true,
        collectCpuTime: this.options.cpuTime,
        useCPED: strategy === 'async-frame',
        workaroundV8Bug: true,
      });
    } catch (err) {
      logger.error(message(codes.PROFILER_START_FAILED, `the wall profiler did not start: ${String(err)}`));
      this.state = 'stopped';
      return false;
    }
    if (this.options.heap !== false) {
      try {
        heap.start(this.options.heap.intervalBytes, this.options.heap.stackDepth);
      } catch (err) {
        logger.warn(message(codes.HEAP_PROFILER_START_FAILED, `the heap profiler did not start, heap profiles are off: ${String(err)}`));
        this.options.heap = false;
      }
    }
    this.tracker = new ContextTracker(strategy);
    this.tracker.start();
    this.figures.strategy = strategy;
    global[RUNNING_SESSION] = this;
    this.state = 'running';
    this.periodStart = new Date();
    this.schedule();
    logger.debug(`profiling started (${strategy}, every ${this.options.samplingIntervalMicros} µs)`);
    return true;
  }

  isRunning(): boolean {
    return this.state === 'running';
  }

  /**
   * An on-demand capture: collects the period so far (exported as usual), then
   * after `durationMillis` collects again and resolves with that batch, which
   * the exporters get too (nothing is lost). Undefined when the session is not
   * running or another capture is under way. Periodic collection pauses meanwhile.
   */
  async capture(durationMillis: number): Promise<ProfileBatch | undefined> {
    if (this.state !== 'running' || this.capturing) return undefined;
    this.capturing = true;
    try {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      await this.enqueue(true).collected;
      await new Promise<void>((resolve) => setTimeout(resolve, durationMillis).unref());
      if (this.state !== 'running') return undefined;
      return await this.enqueue(true).batch;
    } finally {
      this.capturing = false;
      if (this.state === 'running' && this.timer === undefined) this.schedule();
    }
  }

  /** The heap profile now (in use since the heap profiler started), gzipped; undefined if heap profiling is off. */
  async heapSnapshot(): Promise<Uint8Array | undefined> {
    if (this.state !== 'running' || this.options.heap === false) return undefined;
    let profile: Profile;
    try {
      profile = heap.profile();
    } catch (err) {
      logger.debug('heap profile failed', err);
      return undefined;
    }
    profile.timeNanos = BigInt(Date.now()) * 1_000_000n;
    writeProfileTags(profile, this.tags());
    return encode(profile);
  }

  stats(): Readonly<SessionStats> {
    return { ...this.figures, contextManager: this.tracker?.managerMode() };
  }

  /**
   * Wraps the registered OpenTelemetry context manager if it changed. Call it at
   * every span start: until a manager is wrapped it looks every time, then at
   * every 256th call (looking up the global manager is most of a span start's
   * cost otherwise), and at every collection.
   */
  watchContextManager(): void {
    const tracker = this.tracker;
    if (tracker === undefined) return;
    if (tracker.wrapsManager() && (++this.watchCalls & 0xff) !== 0) return;
    tracker.patchContextManager();
  }

  /**
   * A request ended: its local root span ended (the span processor calls this).
   * Counted in the period's `requests` under the root's endpoint as it is at
   * collection. Ignored unless the session is running; never throws.
   */
  requestEnded(root: LocalRoot): void {
    if (this.state === 'running') this.requests.ended(root);
  }

  /** Collects the current period now and exports it; resolves when every exporter answered. */
  flush(): Promise<void> {
    if (this.state !== 'running') return this.shutdownPromise ?? Promise.resolve();
    return this.enqueue(true).exported.then(() =>
      Promise.all(this.exporters.map((e) => (e.forceFlush ? this.bounded(e.forceFlush(), 'exporter forceFlush') : undefined))),
    ).then(() => undefined);
  }

  /** Stops profiling, exports the last period and shuts the exporters down. Idempotent. */
  shutdown(): Promise<void> {
    if (this.shutdownPromise === undefined) {
      this.shutdownPromise = this.doShutdown();
    }
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    let finalExport: Promise<void> = Promise.resolve();
    if (this.state === 'running') {
      const last = this.enqueue(false);
      await last.handedOver;
      finalExport = last.exported;
    }
    this.state = 'stopped';
    const shutdown = (exporter: ProfileExporter): Promise<void> =>
      this.bounded(Promise.resolve().then(() => exporter.shutdown()), 'exporter shutdown');
    // Exporters with their own queue get the last batch and their shutdown at
    // once (their shutdown is what bounds their pending sends); the others are
    // shut down after their exports answered or timed out. Every export the
    // session waits for is bounded by exportTimeoutMillis.
    const owning = this.exporters.filter((e) => e.boundsOwnQueue === true);
    const others = this.exporters.filter((e) => e.boundsOwnQueue !== true);
    await Promise.all([
      ...owning.map(shutdown),
      Promise.all([finalExport, ...this.pendingExports]).then(() => Promise.all(others.map(shutdown))),
    ]);
  }

  /** Waits for `work` at most exportTimeoutMillis; a failure or timeout is logged, never thrown. */
  private async bounded(work: Promise<unknown>, what: string): Promise<void> {
    const ms = this.options.exportTimeoutMillis;
    const outcome = await withDeadline(
      work.then(() => undefined, (err: unknown) => `failed: ${String(err)}`),
      ms,
      () => `timed out after ${ms} ms`,
    );
    if (outcome !== undefined) logger.warn(message(codes.EXPORT_FAILED, `${what} ${outcome}`));
  }

  private chooseStrategy(): TrackingStrategy {
    const mode = this.options.contextTracking;
    if (mode === 'async-hooks') return 'async-hooks';
    const frames = isAsyncContextFrameActive();
    if (mode === 'async-frame' && !frames) {
      logger.warn(
        message(codes.INVALID_OPTION, 'option contextTracking: "async-frame" needs AsyncContextFrame, which is not active in this process (Node 24, or Node 22 with --experimental-async-context-frame); using "async-hooks"'),
      );
    }
    return frames ? 'async-frame' : 'async-hooks';
  }

  private schedule(): void {
    // A capture collects on its own clock and schedules again when it is done.
    if (this.capturing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state !== 'running') return;
      // The next period starts when this collection is done, not when its export is.
      void this.enqueue(true).collected.finally(() => {
        if (this.state === 'running' && this.timer === undefined) this.schedule();
      });
    }, this.options.uploadPeriodMillis);
    this.timer.unref();
  }

  /**
   * Collections run one at a time, in order; each batch's export runs beside
   * the next periods. Neither promise rejects.
   */
  private enqueue(restart: boolean): {
    batch: Promise<ProfileBatch | undefined>;
    collected: Promise<void>;
    handedOver: Promise<void>;
    exported: Promise<void>;
  } {
    const batch = this.queue.then(() => (this.state === 'running' ? this.collect(restart) : undefined));
    this.queue = batch.catch(() => undefined);
    let handOver!: () => void;
    const handedOver = new Promise<void>((resolve) => {
      handOver = resolve;
    });
    const exported = batch
      .then(
        (b) => {
          if (b === undefined) return undefined;
          // exportBatch calls every exporter's export() before it returns.
          const all = this.exportBatch(b);
          handOver();
          return all;
        },
        (err: unknown) => {
          logger.error(message(codes.COLLECT_FAILED, `collection failed: ${String(err)}`));
        },
      )
      .then(() => undefined)
      .finally(handOver);
    this.pendingExports.add(exported);
    void exported.finally(() => this.pendingExports.delete(exported));
    return {
      batch: batch.catch(() => undefined),
      collected: batch.then(() => undefined, () => undefined),
      handedOver,
      exported,
    };
  }

  private async collect(restart: boolean): Promise<ProfileBatch | undefined> {
    const start = this.periodStart;
    const end = new Date();
    this.periodStart = end;
    // Two short synchronous steps rather than one long one: the wall profile
    // (stop, restart, serialise with labels), then, a tick later, the heap profile.
    let began = performance.now();
    let wall: Profile | undefined;
    let heapProfile: Profile | undefined;
    try {
      // No low-cardinality label list: its dedup saves transient memory but costs
      // serialisation time, and serialisation is the event-loop pause.
      wall = time.stop(restart, generateLabels);
    } catch (err) {
      logger.error(message(codes.COLLECT_FAILED, `the wall profile could not be collected: ${String(err)}`));
    }
    // The same instant as the wall profile's end; the endpoints of the last requests are read now.
    const requests = this.requests.take();
    if (!restart) {
      // The wall profiler is gone: stop feeding it sample contexts at once.
      this.tracker?.stop();
    } else {
      this.tracker?.profilerRestarted();
      this.tracker?.patchContextManager();
      const stuck = time.v8ProfilerStuckEventLoopDetected();
      if (stuck > 0) {
        this.figures.v8ProfilerStuck++;
        if (this.figures.v8ProfilerStuck === 1) {
          logger.warn(message(codes.V8_PROFILER_STUCK, 'the V8 profiler was stuck (empty profile); it was restarted'));
        }
      }
    }
    let pause = performance.now() - began;
    if (this.options.heap !== false) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      began = performance.now();
      try {
        heapProfile = heap.profile();
      } catch (err) {
        logger.error(message(codes.COLLECT_FAILED, `the heap profile could not be collected: ${String(err)}`));
      }
      pause = Math.max(pause, performance.now() - began);
    }
    this.figures.lastCollectPauseMillis = pause;
    this.figures.maxCollectPauseMillis = Math.max(this.figures.maxCollectPauseMillis, pause);
    if (!restart) this.stopProfilers();

    const tags = this.tags();
    const profiles: CollectedProfile[] = [];
    for (const [kind, profile] of [['wall', wall], ['heap', heapProfile]] as const) {
      if (profile === undefined) continue;
      profile.timeNanos = BigInt(start.getTime()) * 1_000_000n;
      profile.durationNanos = BigInt(end.getTime() - start.getTime()) * 1_000_000n;
      writeProfileTags(profile, tags);
      if (kind === 'wall') writeRequestCounts(profile, requests);
      profiles.push({ kind, profile, encoded: await encode(profile) });
    }
    if (profiles.length === 0) return undefined;
    this.figures.batches++;
    return Object.freeze({ start, end, tags, profiles, sequence: this.figures.batches, requests });
  }

  /** The session profiling this process, if any. */
  static running(): ProfilerSession | undefined {
    const session = (globalThis as GlobalWithSession)[RUNNING_SESSION];
    return session !== undefined && session.isRunning() ? session : undefined;
  }

  private stopProfilers(): void {
    this.tracker?.stop();
    this.tracker = undefined;
    if (this.options.heap !== false) heap.stop();
    const global = globalThis as GlobalWithSession;
    if (global[RUNNING_SESSION] === this) delete global[RUNNING_SESSION];
    this.state = 'stopped';
  }

  private tags(): Readonly<Record<string, string>> {
    let fromSource: Record<string, string> | undefined;
    try {
      fromSource = this.tagSource?.();
    } catch (err) {
      logger.debug('tag source failed', err);
    }
    return Object.freeze({ ...processTags(), ...fromSource, ...this.options.tags });
  }

  private exportBatch(batch: ProfileBatch): Promise<unknown> {
    // Not in the caller's context: a flush from inside a span must not charge it the export.
    return withTracingSuppressed(() => Promise.all(this.exporters.map((exporter) => this.exportTo(exporter, batch))));
  }

  private exportTo(exporter: ProfileExporter, batch: ProfileBatch): Promise<void> {
    const owning = exporter.boundsOwnQueue === true;
    const busy = this.inFlight.get(exporter) ?? 0;
    if (!owning && busy >= MAX_IN_FLIGHT_PER_EXPORTER) {
      this.figures.droppedBatches++;
      if (!this.warnedDrop) {
        this.warnedDrop = true;
        logger.warn(message(codes.EXPORT_DROPPED, `an exporter has ${busy} batches in flight; newer batches are dropped and counted until it catches up`));
      }
      return Promise.resolve();
    }
    let exported: Promise<ExportResult>;
    try {
      // Called now, not in a later tick: shutdown relies on every exporter having the batch.
      exported = Promise.resolve(exporter.export(batch));
    } catch (err) {
      exported = Promise.resolve({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
    exported = exported.catch((err: unknown): ExportResult => ({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) }));
    const ms = this.options.exportTimeoutMillis;
    if (owning) {
      // It settles every export itself and has already reported failures. The
      // session waits for it (flush, shutdown) at most exportTimeoutMillis; past
      // that the exporter goes on delivering on its own.
      void exported.then((result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          this.figures.failedExports++;
          logger.debug(`export of batch ${batch.sequence} failed: ${result.error?.message ?? 'unknown error'}`);
        }
      });
      return withDeadline(exported.then(() => undefined), ms, () => {
        logger.debug(`export of batch ${batch.sequence} still under way after ${ms} ms; the exporter goes on with it`);
      });
    }
    this.inFlight.set(exporter, busy + 1);
    // In flight until the exporter answers, even past the timeout: that is what bounds a hung exporter.
    void exported.finally(() => this.inFlight.set(exporter, (this.inFlight.get(exporter) ?? 1) - 1));
    return withDeadline(exported, ms, (): ExportResult => ({ code: ExportResultCode.FAILED, error: new Error(`export timed out after ${ms} ms`) })).then((result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.figures.failedExports++;
        logger.warn(message(codes.EXPORT_FAILED, `export of batch ${batch.sequence} failed: ${result.error?.message ?? 'unknown error'}`));
      }
    });
  }
}

/** `work`, or `onTimeout()` if it has not settled after `ms` (the timer never holds the process). */
async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
