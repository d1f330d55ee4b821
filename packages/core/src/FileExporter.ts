import { renameSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeDirectory, writeNewFile, writeNewFileSync } from './files';
import { PROFILE_FILE_SUFFIX, TAG_SERVICE_NAME } from '@spanprof/profile';
import { logger } from './diag';
import { integerOption } from './options';
import { ExportResultCode } from '@spanprof/exporter-base';
import type { ExportResult, ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';

export interface FileExporterOptions {
  /** Directory the profiles are written to; created if missing. Default `./profiles`. */
  directory?: string;
  /**
   * Most profile files kept in the directory; the oldest spanprof files are
   * deleted past it. Default 4320 (a day of wall, heap and events profiles at the
   * default 60 s period).
   */
  maxFiles?: number;
}

const STAMP_LENGTH = '20260101T000000.000Z'.length;

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

function safeName(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64) || 'unknown';
}

/** A profile file's name up to its kind: `<start>.<service>.<pid>.<sequence>`, `<pid>-<threadId>` on a worker thread. */
export function profileFileBase(
  start: Date,
  tags: Readonly<Record<string, string>>,
  sequence: string,
  pid: number = process.pid,
  thread: number = threadId,
): string {
  // A worker thread's files: `<pid>-<threadId>`, so that two threads' sequences never share a name.
  const source = thread === 0 ? String(pid) : `${pid}-${thread}`;
  return `${stamp(start)}.${safeName(tags[TAG_SERVICE_NAME] ?? 'unknown_service')}.${source}.${sequence}`;
}

/**
 * Writes each profile of a batch as a gzipped pprof file:
 * `<start>.<service>.<pid>.<sequence>.<kind>.pb.gz` (`<pid>-<threadId>` on a worker thread), start as a compact UTC
 * timestamp so names sort by time. Tags and the time range are inside the file
 * (pprof comments `spanprof:<key>=<value>`, `time_nanos`, `duration_nanos`).
 */
export class FileExporter implements ProfileExporter {
  readonly directory: string;
  private readonly maxFiles: number;
  private ready = false;
  private shutDown = false;

  constructor(options: FileExporterOptions = {}) {
    this.directory = resolve(options.directory ?? 'profiles');
    this.maxFiles = integerOption('maxFiles', options.maxFiles, 4320, 2, 1_000_000);
  }

  async export(batch: ProfileBatch): Promise<ExportResult> {
    if (this.shutDown) return { code: ExportResultCode.FAILED, error: new Error('FileExporter is shut down') };
    try {
      // Once, until a write fails (then again: the directory may have gone).
      if (!this.ready) {
        makeDirectory(this.directory);
        this.ready = true;
      }
      const base = profileFileBase(batch.start, batch.tags, String(batch.sequence).padStart(6, '0'));
      // The events profile first: a reader that finds the wall profile finds its events with it.
      const written: string[] = [];
      try {
        for (const { kind, encoded } of batch.events === undefined ? batch.profiles : [batch.events, ...batch.profiles]) {
          const file = join(this.directory, `${base}.${kind}${PROFILE_FILE_SUFFIX}`);
          await writeNewFile(`${file}.partial`, encoded);
          await rename(`${file}.partial`, file);
          written.push(kind);
        }
      } catch (err) {
        // An events profile without its wall profile has no samples to go with.
        if (written.includes('events') && !written.includes('wall'))
          await unlink(join(this.directory, `${base}.events${PROFILE_FILE_SUFFIX}`)).catch(() => undefined);
        throw err;
      }
      await this.prune();
      return { code: ExportResultCode.SUCCESS };
    } catch (err) {
      this.ready = false;
      const code = (err as { code?: unknown }).code;
      const why = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
      return { code: ExportResultCode.FAILED, error: new Error(`cannot write profiles to ${this.directory} (${why})`) };
    }
  }

  /** Writes the batch at once (see `ProfileExporter.exportSync`); the next process prunes. */
  exportSync(batch: ProfileBatch): ExportResult {
    if (this.shutDown) return { code: ExportResultCode.FAILED, error: new Error('FileExporter is shut down') };
    try {
      makeDirectory(this.directory);
      const base = profileFileBase(batch.start, batch.tags, String(batch.sequence).padStart(6, '0'));
      for (const { kind, encoded } of batch.events === undefined ? batch.profiles : [batch.events, ...batch.profiles]) {
        const file = join(this.directory, `${base}.${kind}${PROFILE_FILE_SUFFIX}`);
        writeNewFileSync(`${file}.partial`, encoded);
        renameSync(`${file}.partial`, file);
      }
      return { code: ExportResultCode.SUCCESS };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return {
        code: ExportResultCode.FAILED,
        error: new Error(`cannot write profiles to ${this.directory} (${typeof code === 'string' ? code : String(err)})`),
      };
    }
  }

  async forceFlush(): Promise<void> {}

  shutdown(): Promise<void> {
    this.shutDown = true;
    return Promise.resolve();
  }

  private async prune(): Promise<void> {
    const all = await readdir(this.directory);
    const names = all.filter((name) => name.endsWith(PROFILE_FILE_SUFFIX) && isProfileName(name));
    // A partial file outlives its write only when a process died in it: removed once it is stale.
    for (const name of all) {
      if (!name.endsWith(PARTIAL_SUFFIX) || !isProfileName(name)) continue;
      try {
        const path = join(this.directory, name);
        if (Date.now() - (await lstat(path)).mtimeMs > STALE_PARTIAL_MILLIS) await unlink(path);
      } catch (err) {
        logger.debug(`could not delete stale partial profile ${name}`, err);
      }
    }
    if (names.length <= this.maxFiles) return;
    names.sort();
    for (const name of names.slice(0, names.length - this.maxFiles)) {
      try {
        await unlink(join(this.directory, name));
      } catch (err) {
        logger.debug(`could not delete old profile ${name}`, err);
      }
    }
  }
}

const PARTIAL_SUFFIX = `${PROFILE_FILE_SUFFIX}.partial`;
/** A partial file this old belongs to a write that died (a write takes milliseconds). */
const STALE_PARTIAL_MILLIS = 10 * 60_000;

/** A spanprof profile file's name: it starts with its compact UTC start. */
function isProfileName(name: string): boolean {
  return /^\d{8}T\d{6}\.\d{3}Z\./.test(name.slice(0, STAMP_LENGTH + 1));
}
