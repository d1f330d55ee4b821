import { encode, encodeSync, heap, time } from '@datadog/pprof';
import type { Profile } from 'pprof-format';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';
import { codes, KNOWN_EXPORTERS, message, Outage } from '@spanprof/exporter-base';
import type { CollectedProfile, ExporterRecipe, ProfileBatch } from '@spanprof/exporter-base';
import { EventsProfileWriter, LABEL_END_TIMESTAMP, writeProfileTags, writeRequestCounts, writeRequestTimes } from '@spanprof/profile';
import type { EventInput, RequestTimes } from '@spanprof/profile';
import { AsyncFrameTracker } from './AsyncFrameTracker';
import { AsyncHooksTracker } from './AsyncHooksTracker';
import type { ContextManagerMode, ContextTracker, TrackingStrategy } from './ContextTracker';
import { logger, processWarning } from './diag';
import type { LocalRoot, SampleLabels } from './labels';
import { MAX_SPAN_EVENTS, SpanTimeline } from './SpanTimeline';
import { LoopBlockMonitor, MAX_BLOCKS_PER_PERIOD } from './LoopBlockMonitor';
import { EventRecorder, MAX_IO_EVENTS_PER_PERIOD } from './events/EventRecorder';
import { IoEvents, ownIo } from './events/IoEvents';
import type { ResolvedOptions } from './options';
import { RequestCounter } from './RequestCounter';
import { labelsOfSampleContext } from './sampleContext';
import { LazySourceMaps } from './sourceMaps';
import { labelThread, threadLabels } from './thread';
import type { OomExportOptions } from './oom/exportOomProfile';
import { OomOptionsFile, removeStaleOomFiles } from './oom/oomOptionsFile';

/** The script the out-of-memory monitor runs (see `armOomMonitor`). */
const OOM_EXPORT_SCRIPT = join(__dirname, 'oom', 'exportOomProfile.js');

const NO_LABELS: SampleLabels = Object.freeze({});
/** V8's pseudo-frame for the samples taken while the thread waited for work. */
const IDLE_FUNCTION = '(idle)';

/** What pprof hands `generateLabels` for each sample context at collection. */
interface SampleContextEntry {
  node: { name?: string };
  context?: { context?: object; timestamp: bigint };
}

/** What the synchronous first step of a collection took (see `takePeriod`). */
interface Period {
  start: Date;
  end: Date;
  requests: { counts: Readonly<Record<string, number>>; times: ReadonlyMap<string, RequestTimes> };
  wall: Profile | undefined;
  events: EventInput[];
  /** Read once the profiles are taken (the resource's may have come meanwhile). */
  tags: Readonly<Record<string, string>>;
}

/** A collection whose period is taken and whose batch is not sealed yet, with what it has made so far. */
interface InFlight {
  period: Period;
  heap?: Profile;
  events?: Profile;
  parts?: { kind: CollectedProfile['kind']; profile: Profile }[];
}

/** What the collector counted, for `ProfilerSession.stats()`. */
export interface CollectFigures {
  batches: number;
  /**
   * Longest event-loop pause of the last collection, ms: the wall profile's stop,
   * restart and serialisation, or the heap profile's, whichever took longer.
   */
  lastCollectPauseMillis: number;
  maxCollectPauseMillis: number;
  /** Times the V8 profiler was found stuck and restarted. */
  v8ProfilerStuck: number;
  /** Wall or heap profiles that could not be collected. */
  failedCollections: number;
  /**
   * Compiled files whose source maps were read (see the `sourceMaps` option; read lazily, the
   * first time a profile holds one of their locations), how long reading them took in all (ms),
   * and files whose map was left unread past the bounds (see `LazySourceMaps`).
   */
  sourceMaps: { files: number; loadMillis: number; skipped: number } | undefined;
  /** Events left out of the events profile past its bound (spans with samples, see `MAX_SPAN_EVENTS`). */
  droppedEvents: number;
}

/**
 * The only user of `@datadog/pprof`: starts the wall profiler (with per-sample
 * CPU time and span-labelled sample contexts) and the heap profiler, keeps the
 * sample context equal to the active span through a `ContextTracker`, counts
 * the requests that end, and turns each period into a `ProfileBatch`.
 */
export class ProfileCollector {
  readonly figures: CollectFigures = {
    batches: 0,
    lastCollectPauseMillis: 0,
    maxCollectPauseMillis: 0,
    v8ProfilerStuck: 0,
    failedCollections: 0,
    sourceMaps: undefined,
    droppedEvents: 0,
  };
  private tracker: ContextTracker | undefined;
  private readonly requests = new RequestCounter();
  private heapOn: boolean;
  /** Reads a script's map the first time a profile holds one of its locations. */
  private sourceMapper: LazySourceMaps | undefined;
  private periodStart = new Date();
  private readonly wallFailures = new Outage(codes.COLLECT_FAILED, logger);
  private readonly heapFailures = new Outage(codes.COLLECT_FAILED, logger);
  /** `thread_id` and `thread_name` of every sample: the thread this collector profiles. */
  private readonly thread = threadLabels();
  /** The spans of the events profile: those the period's samples were taken in, with their ancestors. */
  private readonly timeline = new SpanTimeline();
  /** Event-loop blocks (undefined when `blockThresholdMillis` is 0). */
  private readonly blocks: LoopBlockMonitor | undefined;
  /** I/O waits and GC pauses (undefined when `events` is off). */
  private readonly events: EventRecorder | undefined;
  private readonly io: IoEvents | undefined;
  private readonly eventDrops = new Outage(codes.EVENTS_DROPPED, logger);
  private epochOffset = Date.now() - performance.now();

  /** What the out-of-memory monitor's export process was last given (written again when the tags change). */
  private oomWritten: string | undefined;
  private readonly oomFile = new OomOptionsFile();
  private removeOomFileAtExit: (() => void) | undefined;
  /** The collection under way, from its period taken to its batch sealed. */
  private inFlight: InFlight | undefined;
  /** Whether the wall profiler runs: from a successful start to the last period taken. */
  private profiling = false;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly tags: () => Readonly<Record<string, string>>,
    /**
     * Where the heap profile at out of memory goes: the FileExporter's directory, and the
     * exporters that can be made again in another process. Neither: no such profile.
     */
    private readonly oomTargets: { directory?: string; recipes: readonly ExporterRecipe[] } = { recipes: [] },
  ) {
    this.heapOn = options.heap !== false;
    this.blocks = options.blockThresholdMillis > 0 ? new LoopBlockMonitor(options.blockThresholdMillis) : undefined;
    if (options.events !== false) {
      this.events = new EventRecorder(options.events.thresholdMillis);
      this.io = new IoEvents(this.events, options.events.sources);
    }
  }

  /** Starts the profilers; false (after an error) when the wall profiler cannot start. Never throws. */
  start(strategy: TrackingStrategy): boolean {
    this.sourceMapper = this.options.sourceMaps ? new LazySourceMaps() : undefined;
    this.figures.sourceMaps = this.sourceMapper?.figures;
    try {
      time.start({
        sourceMapper: this.sourceMapper,
        intervalMicros: this.options.samplingIntervalMicros,
        durationMillis: this.options.uploadPeriodMillis,
        withContexts: true,
        collectCpuTime: this.options.cpuTime,
        useCPED: strategy === 'async-frame',
        workaroundV8Bug: true,
      });
    } catch (err) {
      processWarning(codes.PROFILER_START_FAILED, `the wall profiler did not start, the application runs unprofiled: ${String(err)}`);
      return false;
    }
    if (this.options.heap !== false) {
      try {
        heap.start(this.options.heap.intervalBytes, this.options.heap.stackDepth);
      } catch (err) {
        processWarning(codes.HEAP_PROFILER_START_FAILED, `the heap profiler did not start, heap profiles are off: ${String(err)}`);
        this.heapOn = false;
      }
    }
    this.armOomMonitor();
    this.tracker = strategy === 'async-frame' ? new AsyncFrameTracker() : new AsyncHooksTracker();
    this.tracker.start();
    this.blocks?.start();
    this.io?.start();
    this.periodStart = new Date();
    this.profiling = true;
    return true;
  }

  /** How the registered context manager is followed (undefined when not profiling or none is registered). */
  managerMode(): ContextManagerMode | undefined {
    return this.tracker?.managerMode();
  }

  /** Whether the tracker follows a registered context manager (see `ProfilerSession.watchContextManager`). */
  wrapsManager(): boolean {
    return this.tracker?.wrapsManager() ?? false;
  }

  patchContextManager(): void {
    this.tracker?.patchContextManager();
  }

  /** A request's local root span started. */
  requestStarted(root: LocalRoot): void {
    this.blocks?.requestStarted(root);
  }

  /** A request's local root span ended, `millis` after it started: counted in this period. */
  requestEnded(root: LocalRoot, millis: number): void {
    this.requests.ended(root, millis);
    this.blocks?.requestEnded(root);
  }

  /**
   * The period since the last collection as a batch (undefined when no profile
   * could be collected). `restart` false stops the profilers: the last period.
   */
  async collect(restart: boolean, onStopped?: () => void): Promise<ProfileBatch | undefined> {
    // Two short synchronous steps rather than one long one: the wall profile
    // (stop, restart, serialise with labels), then, a tick later, the heap profile.
    let began = performance.now();
    const flight: InFlight = { period: this.takePeriod(restart) };
    // Until it is sealed, an exit finishes it at once (see collectAtExit).
    this.inFlight = flight;
    let pause = performance.now() - began;
    if (this.heapOn) {
      await nextTurn();
      began = performance.now();
      flight.heap = this.takeHeap();
      pause = Math.max(pause, performance.now() - began);
    }
    if (restart) this.armOomMonitor();
    this.figures.lastCollectPauseMillis = pause;
    this.figures.maxCollectPauseMillis = Math.max(this.figures.maxCollectPauseMillis, pause);
    if (!restart) {
      this.stop();
      onStopped?.();
    }
    const { period } = flight;
    // The events of a period whose wall profile is lost would have no samples to go with.
    flight.events = period.wall !== undefined && period.events.length > 0 ? await writeEvents(period.events) : undefined;
    const parts = this.prepareOnce(flight);
    const encoded: CollectedProfile[] = [];
    for (const { kind, profile } of parts) encoded.push({ kind, profile, encoded: await encode(profile) });
    if (this.inFlight !== flight) return undefined; // finished at exit meanwhile
    this.inFlight = undefined;
    return this.seal(period, encoded);
  }

  /**
   * At the process's `exit` event, after which nothing asynchronous runs: the batches that would
   * otherwise be lost, made at once. The collection under way, if any (its period is taken, its
   * heap, events or encoding not done), and the period since, if the profilers still run (they
   * are stopped). Never throws.
   */
  collectAtExit(): ProfileBatch[] {
    const batches: ProfileBatch[] = [];
    try {
      const flight = this.inFlight;
      this.inFlight = undefined;
      if (flight !== undefined) {
        const { period } = flight;
        if (flight.parts === undefined && flight.events === undefined && period.wall !== undefined && period.events.length > 0) {
          flight.events = writeEventsSync(period.events);
        }
        const batch = this.sealSync(period, this.prepareOnce(flight));
        if (batch !== undefined) batches.push(batch);
      }
      if (this.profiling) {
        const period = this.takePeriod(false);
        const heapProfile = this.heapOn ? this.takeHeap() : undefined;
        this.stop();
        const events = period.wall !== undefined && period.events.length > 0 ? writeEventsSync(period.events) : undefined;
        const batch = this.sealSync(period, this.prepareOnce({ period, heap: heapProfile, events }));
        if (batch !== undefined) batches.push(batch);
      }
    } catch (err) {
      logger.debug('the last period could not be collected at exit', err);
    }
    return batches;
  }

  /** The profiles of a collection ready to encode, prepared once (preparing writes into them). */
  private prepareOnce(flight: InFlight): { kind: CollectedProfile['kind']; profile: Profile }[] {
    if (flight.parts === undefined) {
      flight.period.tags = this.tags();
      flight.parts = this.prepare(flight.period, flight.heap, flight.events);
    }
    return flight.parts;
  }

  /** `seal` with the profiles encoded at once. */
  private sealSync(period: Period, parts: { kind: CollectedProfile['kind']; profile: Profile }[]): ProfileBatch | undefined {
    return this.seal(
      period,
      parts.map(({ kind, profile }) => ({ kind, profile, encoded: encodeSync(profile) })),
    );
  }

  /**
   * The synchronous first step of a collection: the wall profile (restarted unless `restart` is
   * false), the requests that ended, and the period's events (spans, blocks, I/O waits, GC pauses),
   * with what their bounds left out counted and warned about.
   */
  private takePeriod(restart: boolean): Period {
    if (!restart) this.profiling = false;
    const start = this.periodStart;
    const end = new Date();
    this.periodStart = end;
    // The system clock less the performance clock: the I/O and GC events' times on the samples' clock.
    this.epochOffset = Date.now() - performance.now();
    const wall = this.takeWall(restart);
    // The same instant as the wall profile's end; the endpoints of the last requests are read now.
    const requests = this.requests.take();
    // The spans of the period's I/O waits are recorded like those with samples.
    if (this.events !== undefined) for (const span of this.events.spans()) this.timeline.sampled(span);
    const spans = this.timeline.take(BigInt(end.getTime()) * 1_000_000n);
    // After the wall profile: its samples told each block which requests blocked, and each GC pause its span.
    const blocks = this.blocks?.take() ?? { events: [], dropped: 0 };
    const io = this.events?.take(this.epochOffset) ?? { events: [], dropped: 0 };
    this.afterWall(restart);
    const dropped = spans.dropped + blocks.dropped + io.dropped;
    if (dropped > 0) {
      this.figures.droppedEvents += dropped;
      this.eventDrops.fail(
        `events were left out of the period's events profile past its bounds: ${spans.dropped} spans (at most ${MAX_SPAN_EVENTS}), ${blocks.dropped} event-loop blocks (at most ${MAX_BLOCKS_PER_PERIOD}), ${io.dropped} I/O waits and GC pauses (at most ${MAX_IO_EVENTS_PER_PERIOD}; events.thresholdMillis keeps fewer)`,
        'stats().droppedEvents',
      );
    } else this.eventDrops.recover('every span, block, I/O wait and GC pause is in the events profile');
    return { start, end, requests, wall, events: [...spans.events, ...blocks.events, ...io.events], tags: {} };
  }

  /**
   * The labels of one sample context, as pprof asks at collection: the span's labels and the
   * sample's time (`end_timestamp_ns`). A sample outside any span gets its time alone, so that it
   * is kept apart from the others (the views place it in time); an idle one gets nothing and is
   * dropped with the other idle samples, as pprof does for samples without labels.
   */
  private readonly labelSample = ({ node, context }: SampleContextEntry): Record<string, string | bigint> => {
    if (context === undefined) return NO_LABELS;
    const labels = labelsOfSampleContext(context.context);
    if (node.name !== IDLE_FUNCTION) {
      if (this.blocks?.hasBlocks() === true) this.blocks.sampledAt(context.timestamp, labels?.root);
      if (this.events?.hasUnattributedGc() === true) this.events.sampledAt(context.timestamp, labels, this.epochOffset);
    }
    if (labels === undefined) {
      if (node.name === IDLE_FUNCTION) return NO_LABELS;
      return { [LABEL_END_TIMESTAMP]: context.timestamp * 1000n };
    }
    this.timeline.sampled(labels);
    return { ...labels.sampleLabels(), [LABEL_END_TIMESTAMP]: context.timestamp * 1000n };
  };

  /** Stops the wall profiler (restarting it unless this is the last period) and serialises its profile with labels. */
  private takeWall(restart: boolean): Profile | undefined {
    try {
      // No low-cardinality label list: its dedup saves transient memory but costs
      // serialisation time, and serialisation is the event-loop pause.
      // pprof's serializer writes bigint label values as numbers (its LabelSet type says string | number).
      const wall = time.stop(restart, this.labelSample as unknown as Parameters<typeof time.stop>[1]);
      this.wallFailures.recover('the wall profile is collected');
      return wall;
    } catch (err) {
      this.figures.failedCollections++;
      this.wallFailures.fail(`the wall profile could not be collected: ${String(err)}`, 'stats().failedCollections');
      return undefined;
    }
  }

  /** The context tracking after the wall profiler stopped or restarted; the V8 fault check. */
  private afterWall(restart: boolean): void {
    if (!restart) {
      // The wall profiler is gone: stop feeding it sample contexts at once.
      this.tracker?.stop();
      return;
    }
    this.tracker?.profilerRestarted();
    this.tracker?.patchContextManager();
    if (time.v8ProfilerStuckEventLoopDetected() > 0) {
      this.figures.v8ProfilerStuck++;
      // A diag warning only: a period too short for any sample (frequent flushes) reads the
      // same, and pprof has already restarted the profiler.
      if (this.figures.v8ProfilerStuck === 1) {
        logger.warn(
          message(codes.V8_PROFILER_STUCK, 'the V8 profiler was stuck (empty profile); it was restarted; further ones are counted in stats().v8ProfilerStuck'),
        );
      }
    }
  }

  private takeHeap(): Profile | undefined {
    try {
      const profile = heap.profile(undefined, this.sourceMapper);
      this.heapFailures.recover('the heap profile is collected');
      return profile;
    } catch (err) {
      this.figures.failedCollections++;
      this.heapFailures.fail(`the heap profile could not be collected: ${String(err)}`, 'stats().failedCollections');
      return undefined;
    }
  }

  /**
   * Has @datadog/pprof's out-of-memory monitor run `oom/exportOomProfile.js` when the heap nears
   * its limit: the native monitor dumps the heap profile to a file and waits for that process
   * (at most 15 s), which writes spanprof's heap profile file and sends it to spanprof's own
   * exporters made again there (see `ExporterRecipe`). A process of its own, since the
   * application's heap has no room left to run JavaScript. What it needs (exporter options may
   * hold credentials) is in a file of a private directory (see `OomOptionsFile`), written again
   * when the tags change (the resource's are known from the first span on) and removed when the
   * profiler stops and at exit. Never throws.
   */
  private armOomMonitor(): void {
    const heapOptions = this.options.heap;
    const { directory, recipes } = this.oomTargets;
    if (!this.heapOn || heapOptions === false || !heapOptions.oomProfile || (directory === undefined && recipes.length === 0)) return;
    // The main thread's heap only: a worker's own heap limit (`resourceLimits`) ends the worker, not the process.
    if (!isMainThread) return;
    const exportOptions: OomExportOptions = { directory, pid: process.pid, intervalBytes: heapOptions.intervalBytes, tags: { ...this.tags() }, recipes };
    const content = JSON.stringify(exportOptions);
    if (content === this.oomWritten) return;
    try {
      if (this.oomWritten === undefined) {
        for (const recipe of recipes) {
          // The export process loads the exporter as this package finds it; say now if it cannot.
          const { module } = KNOWN_EXPORTERS[recipe.exporter];
          if (!resolvable(module))
            logger.warn(
              message(codes.OOM_EXPORT_UNAVAILABLE, `${module} cannot be loaded from @spanprof/core: the heap profile at out of memory is not sent there`),
            );
        }
        void ownIo(removeStaleOomFiles);
      }
      this.oomFile.write(content);
      if (this.oomWritten === undefined) {
        // One heap extension (one young generation): room for V8 to go on after the export.
        heap.monitorOutOfMemory('auto', 1, false, [process.execPath, OOM_EXPORT_SCRIPT, this.oomFile.path]);
        this.removeOomFileAtExit ??= () => this.oomFile.remove();
        process.once('exit', this.removeOomFileAtExit);
      }
      this.oomWritten = content;
    } catch (err) {
      logger.warn(message(codes.OOM_EXPORT_UNAVAILABLE, `the heap profile at out of memory is off: ${String(err)}`));
      this.oomWritten = content;
    }
  }

  /** The period's profiles with their time range, thread, tags and (wall) request counts written in, ready to encode. */
  private prepare(period: Period, heapProfile: Profile | undefined, events: Profile | undefined): { kind: CollectedProfile['kind']; profile: Profile }[] {
    const { start, end, tags } = period;
    const parts: { kind: CollectedProfile['kind']; profile: Profile }[] = [];
    for (const [kind, profile] of [
      ['wall', period.wall],
      ['heap', heapProfile],
      ['events', events],
    ] as const) {
      if (profile === undefined) continue;
      profile.timeNanos = BigInt(start.getTime()) * 1_000_000n;
      profile.durationNanos = BigInt(end.getTime() - start.getTime()) * 1_000_000n;
      labelThread(profile, this.thread);
      writeProfileTags(profile, tags);
      if (kind === 'wall') {
        writeRequestCounts(profile, period.requests.counts);
        writeRequestTimes(profile, period.requests.times);
      }
      parts.push({ kind, profile });
    }
    return parts;
  }

  /** The batch of the period's encoded profiles; undefined when there is none but an events profile. */
  private seal(period: Period, collected: CollectedProfile[]): ProfileBatch | undefined {
    const profiles = collected.filter((c) => c.kind !== 'events');
    if (profiles.length === 0) return undefined;
    const events = collected.find((c) => c.kind === 'events');
    this.figures.batches++;
    const { start, end } = period;
    return Object.freeze({ start, end, tags: period.tags, profiles, events, sequence: this.figures.batches, requests: period.requests.counts });
  }

  /** The heap profile now (in use since the heap profiler started), gzipped; undefined if heap profiling is off. */
  async heapSnapshot(): Promise<Uint8Array | undefined> {
    if (!this.heapOn) return undefined;
    let profile: Profile;
    try {
      profile = heap.profile(undefined, this.sourceMapper);
    } catch (err) {
      logger.debug('heap profile failed', err);
      return undefined;
    }
    profile.timeNanos = BigInt(Date.now()) * 1_000_000n;
    labelThread(profile, this.thread);
    writeProfileTags(profile, this.tags());
    return encode(profile);
  }

  /** Stops the context tracking and the heap profiler (the wall profiler stops in the last `collect`). */
  stop(): void {
    this.blocks?.stop();
    this.io?.stop();
    this.tracker?.stop();
    this.tracker = undefined;
    if (this.heapOn) heap.stop();
    this.heapOn = false;
    this.oomFile.remove();
    if (this.removeOomFileAtExit !== undefined) process.removeListener('exit', this.removeOomFileAtExit);
  }
}

/** Whether `module` can be loaded from this package. */
function resolvable(module: string): boolean {
  try {
    require.resolve(module);
    return true;
  } catch {
    return false;
  }
}

/** Events written per synchronous step: about 10 ms each, so that a period under load never stalls the event loop for long. */
const EVENTS_PER_STEP = 2000;

/** The events as a profile, at once (at exit). */
function writeEventsSync(events: readonly EventInput[]): Profile {
  const writer = new EventsProfileWriter();
  for (const event of events) writer.add(event);
  return writer.finish();
}

/**
 * The period's events as a profile, written a chunk per event-loop turn (a CPU-bound service
 * at 99 Hz has up to about 12,000 span events a minute: some 25 ms to write in all), with a turn
 * before pprof encodes it.
 */
async function writeEvents(events: readonly EventInput[]): Promise<Profile> {
  const writer = new EventsProfileWriter();
  for (let i = 0; i < events.length; i++) {
    writer.add(events[i]);
    if ((i + 1) % EVENTS_PER_STEP === 0) await nextTurn();
  }
  const profile = writer.finish();
  await nextTurn();
  return profile;
}
