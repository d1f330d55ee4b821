import { codes, ExportResultCode, message, Outage, withTracingSuppressed } from '@spanprof/exporter-base';
import type { ExportResult, ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';
import { logger } from './diag';

/** Batches one exporter may have in flight; a further one is dropped and counted. */
const MAX_IN_FLIGHT_PER_EXPORTER = 2;

/** What the dispatcher counted, for `ProfilerSession.stats()`. */
export interface DispatchFigures {
  /** Batches dropped because an exporter was too far behind. */
  droppedBatches: number;
  failedExports: number;
}

/**
 * Hands every collected batch to every exporter, under two regimes:
 * - an exporter that bounds its own queue (`boundsOwnQueue`, the HTTP
 *   exporters) gets every batch, settles each export itself, and is shut down
 *   right after the last batch reaches it;
 * - any other gets at most two batches in flight (a further one is dropped and
 *   counted), each export bounded by `exportTimeoutMillis`, and is shut down
 *   once its exports answered or timed out.
 * Exports run outside the caller's span, with tracing suppressed. Nothing here
 * throws or rejects: failures are warned about (SPANPROF_W004, SPANPROF_W005) and counted.
 */
export class ExportDispatcher {
  readonly figures: DispatchFigures = { droppedBatches: 0, failedExports: 0 };
  private readonly inFlight = new Map<ProfileExporter, number>();
  /** Dispatches under way (each bounded by exportTimeoutMillis); shutdown waits for them. */
  private readonly pending = new Set<Promise<void>>();
  /** Batches dropped for an exporter too far behind, and its failed exports: an outage each, per exporter. */
  private readonly drops = new Map<ProfileExporter, Outage>();
  private readonly failures = new Map<ProfileExporter, Outage>();

  constructor(
    private readonly exporters: readonly ProfileExporter[],
    private readonly exportTimeoutMillis: number,
  ) {}

  /**
   * Calls every exporter's `export(batch)` before it returns (shutdown relies on
   * every exporter having the batch); resolves when each answered or timed out.
   */
  dispatch(batch: ProfileBatch): Promise<void> {
    // Not in the caller's context: a flush from inside a span must not charge it the export.
    const all = withTracingSuppressed(() => Promise.all(this.exporters.map((exporter) => this.exportTo(exporter, batch)))).then(() => undefined);
    this.pending.add(all);
    void all.finally(() => this.pending.delete(all));
    return all;
  }

  /**
   * The last batch, at the process's `exit` event: to every exporter that exports at once
   * (`exportSync`). Returns the names of those that did not get it. Never throws.
   */
  exportAtExit(batch: ProfileBatch): string[] {
    const lost: string[] = [];
    for (const exporter of this.exporters) {
      let result: ExportResult | undefined;
      try {
        result = exporter.exportSync?.(batch);
      } catch (err) {
        result = failed(err);
      }
      if (result === undefined || result.code !== ExportResultCode.SUCCESS) {
        lost.push(result?.error !== undefined ? `${nameOf(exporter)} (${result.error.message})` : nameOf(exporter));
      }
    }
    return lost;
  }

  /** Every exporter's `forceFlush()`, each bounded by exportTimeoutMillis. */
  async forceFlush(): Promise<void> {
    await Promise.all(this.exporters.flatMap((e) => (e.forceFlush ? [this.bounded(e.forceFlush(), 'exporter forceFlush')] : [])));
  }

  /**
   * Shuts every exporter down once, after `lastExport` (the final batch's
   * dispatch): those with their own queue at once, the others after their
   * exports answered or timed out.
   */
  async shutdown(lastExport: Promise<void>): Promise<void> {
    const shutdown = (exporter: ProfileExporter): Promise<void> =>
      this.bounded(
        Promise.resolve().then(() => exporter.shutdown()),
        'exporter shutdown',
      );
    const owning = this.exporters.filter((e) => e.boundsOwnQueue === true);
    const others = this.exporters.filter((e) => e.boundsOwnQueue !== true);
    await Promise.all([...owning.map(shutdown), Promise.all([lastExport, ...this.pending]).then(() => Promise.all(others.map(shutdown)))]);
  }

  /** Waits for `work` at most exportTimeoutMillis; a failure or timeout is warned about, never thrown. */
  private async bounded(work: Promise<unknown>, what: string): Promise<void> {
    const ms = this.exportTimeoutMillis;
    const outcome = await withDeadline(
      work.then(
        () => undefined,
        (err: unknown) => `failed: ${String(err)}`,
      ),
      ms,
      () => `timed out after ${ms} ms`,
    );
    if (outcome !== undefined) logger.warn(message(codes.EXPORT_FAILED, `${what} ${outcome}`));
  }

  private exportTo(exporter: ProfileExporter, batch: ProfileBatch): Promise<void> {
    const owning = exporter.boundsOwnQueue === true;
    const busy = this.inFlight.get(exporter) ?? 0;
    if (!owning && busy >= MAX_IN_FLIGHT_PER_EXPORTER) {
      this.figures.droppedBatches++;
      outageOf(this.drops, exporter, codes.EXPORT_DROPPED).fail(
        `batch ${batch.sequence} dropped: ${nameOf(exporter)} has ${busy} batches in flight`,
        'stats().droppedBatches',
      );
      return Promise.resolve();
    }
    let exported: Promise<ExportResult>;
    try {
      // Called now, not in a later tick: shutdown relies on every exporter having the batch.
      exported = Promise.resolve(exporter.export(batch));
    } catch (err) {
      exported = Promise.resolve(failed(err));
    }
    exported = exported.catch(failed);
    const ms = this.exportTimeoutMillis;
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
      return withDeadline(
        exported.then(() => undefined),
        ms,
        () => {
          logger.debug(`export of batch ${batch.sequence} still under way after ${ms} ms; the exporter goes on with it`);
        },
      );
    }
    this.inFlight.set(exporter, busy + 1);
    // In flight until the exporter answers, even past the timeout: that is what bounds a hung exporter.
    void exported.finally(() => {
      const left = (this.inFlight.get(exporter) ?? 1) - 1;
      this.inFlight.set(exporter, left);
      // It caught up (nothing in flight): a drop outage, if any, is over. Room for one more batch
      // alone is not the end of it, or a slow exporter would be warned about every other period.
      if (left === 0) this.drops.get(exporter)?.recover(`${nameOf(exporter)}: caught up, batches are handed over again`);
    });
    return withDeadline(exported, ms, (): ExportResult => ({ code: ExportResultCode.FAILED, error: new Error(`export timed out after ${ms} ms`) })).then(
      (result) => {
        if (result.code === ExportResultCode.SUCCESS) {
          this.failures.get(exporter)?.recover(`${nameOf(exporter)}: exports succeed`);
          return;
        }
        this.figures.failedExports++;
        outageOf(this.failures, exporter, codes.EXPORT_FAILED).fail(
          `export of batch ${batch.sequence} to ${nameOf(exporter)} failed: ${result.error?.message ?? 'unknown error'}`,
          'stats().failedExports',
        );
      },
    );
  }
}

/** The exporter's outage of one kind, made on its first fault. */
function outageOf(outages: Map<ProfileExporter, Outage>, exporter: ProfileExporter, code: string): Outage {
  let outage = outages.get(exporter);
  if (outage === undefined) outages.set(exporter, (outage = new Outage(code, logger)));
  return outage;
}

/** An exporter's class name, for warnings. */
function nameOf(exporter: ProfileExporter): string {
  const name = (exporter as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'an exporter';
}

function failed(err: unknown): ExportResult {
  return { code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) };
}

/** `work`, or `onTimeout()` if it has not settled after `ms` (the timer never holds the process). */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
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
