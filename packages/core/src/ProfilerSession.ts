import { performance } from 'node:perf_hooks';
import { codes, message, Outage, warnConfig } from '@spanprof/exporter-base';
import type { ExporterRecipe, ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';
import { isAsyncContextFrameActive } from './asyncContextFrame';
import type { ContextManagerMode, TrackingStrategy } from './ContextTracker';
import { logger, processWarning } from './diag';
import { hookFailures } from './faults';
import { ExportDispatcher, withDeadline } from './ExportDispatcher';
import { FileExporter } from './FileExporter';
import type { LocalRoot } from './labels';
import { resolveOptions } from './options';
import type { ResolvedOptions } from './options';
import { ProfileCollector } from './ProfileCollector';
import { ProfileMetrics } from './ProfileMetrics';
import { processTags } from './tags';
import type { ProfilerOptions } from './types';

/** The wall profiler is one per process: the running session is kept here, across copies of this package. */
const RUNNING_SESSION = Symbol.for('@spanprof/core.runningSession');
type GlobalWithSession = typeof globalThis & { [RUNNING_SESSION]?: ProfilerSession };

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
   * How the registered OpenTelemetry context manager is followed: `spanprof` (it
   * is a SpanprofContextManager: on AsyncContextFrame one frame entry per switch
   * carries both contexts), `wrapped` (another manager: its `with` and `attach`
   * are wrapped, a costlier way), or undefined (none registered).
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
  /** Wall or heap profiles that could not be collected. */
  failedCollections: number;
  /** Compiled files whose source maps were read (lazily, as profiles reach them), how long that took in all (ms), and files whose map was past the bounds; undefined with `sourceMaps` off. */
  sourceMaps: { files: number; loadMillis: number; skipped: number } | undefined;
  /** Events left out of the events profiles past their bound (spans with samples: at most 20,000 a period). */
  droppedEvents: number;
  /** Collections whose profiling metrics could not be recorded. */
  failedMetrics: number;
  /**
   * Faults caught in spanprof's hooks into the application in this process (span processor hooks,
   * async hooks, the context storage, I/O event sources); the first of each kind is warned about
   * (`SPANPROF_W014`).
   */
  hookFailures: number;
}

/**
 * One profiling session: its lifecycle (one per process, start, periodic and
 * on-demand collection, flush, shutdown). Collection is the `ProfileCollector`'s,
 * delivery the `ExportDispatcher`'s; profiling metrics, when on, read every
 * batch after it is dispatched.
 */
export class ProfilerSession {
  private readonly options: ResolvedOptions;
  private readonly collector: ProfileCollector;
  private readonly dispatcher: ExportDispatcher;
  private readonly metrics: ProfileMetrics | undefined;
  private readonly tagSource: SessionOptions['tagSource'];
  /** See SessionOptions.owner. */
  readonly owner: string | undefined;
  private strategy: TrackingStrategy | undefined;
  private watchCalls = 0;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<void> | undefined;
  private capturing = false;
  /** When the last collection began (`performance.now()`), and its export (settles, never rejects). */
  private lastCollection = -Infinity;
  private lastExported: Promise<void> = Promise.resolve();
  private failedMetrics = 0;
  private readonly metricsFailures = new Outage(codes.METRICS_FAILED, logger);

  constructor(options: SessionOptions = {}) {
    this.options = resolveOptions(options);
    this.tagSource = options.tagSource;
    this.owner = typeof options.owner === 'string' ? options.owner : undefined;
    const exporter = options.exporter;
    const exporters = exporter === undefined ? [new FileExporter()] : Array.isArray(exporter) ? [...exporter] : [exporter];
    this.dispatcher = new ExportDispatcher(exporters, this.options.exportTimeoutMillis);
    const files = exporters.find((e): e is FileExporter => e instanceof FileExporter);
    this.collector = new ProfileCollector(this.options, () => this.tags(), { directory: files?.directory, recipes: recipesOf(exporters) });
    this.metrics = this.options.metrics !== false ? new ProfileMetrics(this.options.metrics) : undefined;
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
    if (!this.collector.start(strategy)) {
      this.state = 'stopped';
      return false;
    }
    this.strategy = strategy;
    global[RUNNING_SESSION] = this;
    this.state = 'running';
    // Before @datadog/pprof's own `exit` listener (added when it loads), which stops the wall
    // profiler and drops what it sampled.
    process.prependListener('exit', this.onExit);
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
  heapSnapshot(): Promise<Uint8Array | undefined> {
    return this.state === 'running' ? this.collector.heapSnapshot() : Promise.resolve(undefined);
  }

  stats(): Readonly<SessionStats> {
    return {
      strategy: this.strategy,
      contextManager: this.collector.managerMode(),
      ...this.collector.figures,
      ...this.dispatcher.figures,
      failedMetrics: this.failedMetrics,
      hookFailures: hookFailures(),
    };
  }

  /**
   * Wraps the registered OpenTelemetry context manager if it changed. Call it at
   * every span start: until a manager is wrapped it looks every time, then at
   * every 256th call (looking up the global manager is most of a span start's
   * cost otherwise), and at every collection.
   */
  watchContextManager(): void {
    if (this.state !== 'running') return;
    if (this.collector.wrapsManager() && (++this.watchCalls & 0xff) !== 0) return;
    this.collector.patchContextManager();
  }

  /** A request started: its local root span started (the span processor calls this). Never throws. */
  requestStarted(root: LocalRoot): void {
    if (this.state === 'running') this.collector.requestStarted(root);
  }

  /**
   * A request ended: its local root span ended, `millis` after it started (the span processor
   * calls this). Counted in the period's `requests` under the root's endpoint as it is at
   * collection, its duration with it. Ignored unless the session is running; never throws.
   */
  requestEnded(root: LocalRoot, millis = 0): void {
    if (this.state === 'running') this.collector.requestEnded(root, millis);
  }

  /**
   * Collects the current period now and exports it; resolves when every exporter answered. Within
   * `minFlushIntervalMillis` of the last collection (periodic, flushed or captured) it waits for
   * that collection's export and flushes the exporters: the period goes on, and its samples go
   * with the next collection.
   */
  flush(): Promise<void> {
    if (this.state !== 'running') return this.shutdownPromise ?? Promise.resolve();
    // Too soon: the collection under way or just made is exported, then the exporters flushed.
    if (performance.now() - this.lastCollection < this.options.minFlushIntervalMillis) return this.lastExported.then(() => this.dispatcher.forceFlush());
    return this.enqueue(true).exported.then(() => this.dispatcher.forceFlush());
  }

  /**
   * Stops profiling, exports the last period and shuts the exporters down. Idempotent. Bounded:
   * the last collection within `exportTimeoutMillis` (past it the period is lost, with a process
   * warning), then each exporter's last export and shutdown within `exportTimeoutMillis`.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  /** The session profiling this process, if any. */
  static running(): ProfilerSession | undefined {
    const session = (globalThis as GlobalWithSession)[RUNNING_SESSION];
    return session !== undefined && session.isRunning() ? session : undefined;
  }

  private async doShutdown(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    let lastExport: Promise<void> = Promise.resolve();
    if (this.state === 'running') {
      const last = this.enqueue(false);
      // Bounded: a collection that hangs (its encoding waits for a thread-pool thread the
      // application's own I/O holds) must not hold the shutdown, whoever awaits it.
      const ms = this.options.exportTimeoutMillis;
      if (
        await withDeadline(
          last.handedOver.then(() => true),
          ms,
          () => false,
        )
      ) {
        lastExport = last.exported;
        // Every exporter has the last batch: nothing is left for an exit to finish.
        process.removeListener('exit', this.onExit);
      } else {
        processWarning(
          codes.COLLECT_FAILED,
          `the last period was not collected within exportTimeoutMillis (${ms} ms) at shutdown: it is lost; the exporters are shut down without it`,
        );
      }
    }
    this.state = 'stopped';
    await this.dispatcher.shutdown(lastExport);
  }

  private chooseStrategy(): TrackingStrategy {
    const mode = this.options.contextTracking;
    if (mode === 'async-hooks') return 'async-hooks';
    const frames = isAsyncContextFrameActive();
    if (mode === 'async-frame' && !frames) {
      warnConfig(
        'option contextTracking: "async-frame" needs AsyncContextFrame, which is not active in this process (Node 24, or Node 22 with --experimental-async-context-frame); using "async-hooks"',
        logger,
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
   * the next periods. None of the promises rejects. `handedOver`: every
   * exporter has the batch (or there is none).
   */
  private enqueue(restart: boolean): {
    batch: Promise<ProfileBatch | undefined>;
    collected: Promise<void>;
    handedOver: Promise<void>;
    exported: Promise<void>;
  } {
    this.lastCollection = performance.now();
    const batch = this.queue.then(() => (this.state === 'running' ? this.collect(restart) : undefined));
    // Settles with nothing: the queue must not hold the last batch (its profiles) until the next collection.
    this.queue = batch.then(
      () => undefined,
      () => undefined,
    );
    let handOver!: () => void;
    const handedOver = new Promise<void>((resolve) => {
      handOver = resolve;
    });
    const exported = batch
      .then(
        (b) => {
          if (b === undefined) return undefined;
          // dispatch() calls every exporter's export() before it returns.
          const all = this.dispatcher.dispatch(b);
          handOver();
          this.recordMetrics(b);
          return all;
        },
        (err: unknown) => {
          logger.error(message(codes.COLLECT_FAILED, `collection failed: ${String(err)}`));
        },
      )
      .then(() => undefined)
      .finally(handOver);
    this.lastExported = exported;
    return {
      batch: batch.catch(() => undefined),
      collected: batch.then(
        () => undefined,
        () => undefined,
      ),
      handedOver,
      exported,
    };
  }

  private async collect(restart: boolean): Promise<ProfileBatch | undefined> {
    if (restart) return this.collector.collect(true);
    // The last period: the process may get another session as soon as the profilers stopped.
    try {
      return await this.collector.collect(false, () => this.release());
    } finally {
      this.release();
    }
  }

  /** Profiling metrics of the batch; a fault is warned about once (SPANPROF_W009) and never reaches the exports. */
  private recordMetrics(batch: ProfileBatch): void {
    if (this.metrics === undefined) return;
    try {
      this.metrics.record(batch);
      this.metricsFailures.recover('profiling metrics are recorded');
    } catch (err) {
      this.failedMetrics++;
      this.metricsFailures.fail(`profiling metrics could not be recorded: ${String(err)}`, 'stats().failedMetrics');
    }
  }

  /** The last period is collected: the process may get another session. */
  private release(): void {
    const global = globalThis as GlobalWithSession;
    if (global[RUNNING_SESSION] === this) delete global[RUNNING_SESSION];
    this.state = 'stopped';
  }

  /**
   * The process exits before the session was shut down (`process.exit()`, an uncaught error, an
   * app's own signal handler that exits), or during its shutdown: nothing asynchronous runs again,
   * so the collection under way and the period since are made at once and handed to the exporters
   * that write at once (the FileExporter); what the others lose is said on stderr at once (a
   * process warning would come too late to be printed). Never throws.
   */
  private readonly onExit = (): void => {
    try {
      process.removeListener('exit', this.onExit);
      if (this.timer !== undefined) clearTimeout(this.timer);
      const batches = this.collector.collectAtExit();
      this.release();
      const lost = new Set<string>();
      let millis = 0;
      for (const batch of batches) {
        const missed = this.dispatcher.exportAtExit(batch);
        for (const name of missed) lost.add(name);
        if (missed.length > 0) millis += batch.end.getTime() - batch.start.getTime();
      }
      if (lost.size === 0) return;
      warnAtExit(
        `the process exited before spanprof was shut down: the last ${(millis / 1000).toFixed(1)} s of profiles did not reach ${[...lost].join(', ')}. ` +
          'Shut the SDK or the processor down before process.exit() (the bundle does at SIGTERM, SIGINT, SIGHUP and when the loop empties)',
      );
    } catch (err) {
      logger.debug('the last period at exit failed', err);
    }
  };

  private tags(): Readonly<Record<string, string>> {
    let fromSource: Record<string, string> | undefined;
    try {
      fromSource = this.tagSource?.();
    } catch (err) {
      logger.debug('tag source failed', err);
    }
    return Object.freeze({ ...processTags(), ...fromSource, ...this.options.tags });
  }
}

/**
 * A loss at exit, said at once: a diag warning, and Node's process warning format on stderr
 * written synchronously (`process.emitWarning` prints in a later tick, which never comes).
 */
function warnAtExit(text: string): void {
  logger.warn(message(codes.LOST_AT_EXIT, text));
  if (process.execArgv.includes('--no-warnings') || /(^|\s)--no-warnings(\s|$)/.test(process.env.NODE_OPTIONS ?? '')) return;
  try {
    process.stderr.write(`(node:${process.pid}) [${codes.LOST_AT_EXIT}] Warning: ${text}\n`);
  } catch {
    // No stderr to say it on.
  }
}

/** The exporters that can be made again in the process that sends the heap profile at out of memory. */
function recipesOf(exporters: readonly ProfileExporter[]): ExporterRecipe[] {
  const recipes: ExporterRecipe[] = [];
  for (const exporter of exporters) {
    try {
      const recipe = exporter.recipe?.();
      if (recipe !== undefined) recipes.push(recipe);
    } catch (err) {
      logger.debug('exporter recipe failed', err);
    }
  }
  return recipes;
}
