import { closeSync, constants, mkdirSync, openSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { lstat, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
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
  private ready: Promise<void> | undefined;
  private shutDown = false;

  constructor(options: FileExporterOptions = {}) {
    this.directory = resolve(options.directory ?? 'profiles');
    this.maxFiles = integerOption('maxFiles', options.maxFiles, 4320, 2, 1_000_000);
  }

  async export(batch: ProfileBatch): Promise<ExportResult> {
    if (this.shutDown) return { code: ExportResultCode.FAILED, error: new Error('FileExporter is shut down') };
    try {
      this.ready ??= makeDirectory(this.directory);
      await this.ready;
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
      this.ready = undefined;
      const code = (err as { code?: unknown }).code;
      const why = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
      return { code: ExportResultCode.FAILED, error: new Error(`cannot write profiles to ${this.directory} (${why})`) };
    }
  }

  /** Writes the batch at once (see `ProfileExporter.exportSync`); the next process prunes. */
  exportSync(batch: ProfileBatch): ExportResult {
    if (this.shutDown) return { code: ExportResultCode.FAILED, error: new Error('FileExporter is shut down') };
    try {
      makeDirectorySync(this.directory);
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

/** `writeNewFile`, synchronously. */
function writeNewFileSync(path: string, bytes: Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(path, NEW_FILE, 0o644);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    unlinkSync(path);
    fd = openSync(path, NEW_FILE, 0o644);
  }
  try {
    writeSync(fd, bytes);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw err;
  }
  closeSync(fd);
}

/** A new file, never through a link. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes `bytes` to a new file at `path`, never through a link; one left there by a write that
 * died is replaced. A file that could not be written whole is removed.
 */
async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  let file;
  try {
    file = await open(path, NEW_FILE, 0o644);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    await unlink(path);
    file = await open(path, NEW_FILE, 0o644);
  }
  try {
    await file.writeFile(bytes);
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  await file.close();
}

/** `makeDirectory`, synchronously: for the out-of-memory export process, whose deadline is short. */
export function makeDirectorySync(dir: string): void {
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) throw Object.assign(new Error(`${at} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT' || dirname(at) === at) throw err;
      missing.push(at);
    }
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Creates `dir` and its missing parents one level at a time. Not `mkdir(dir, { recursive: true })`:
 * under a pseudo file system such as /proc, Node's recursive mkdir (20 and 24) never returns and
 * spins a thread-pool thread, which also keeps the process from exiting.
 */
async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    try {
      if (!(await stat(at)).isDirectory()) throw Object.assign(new Error(`${at} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT' || dirname(at) === at) throw err;
      missing.push(at);
    }
  }
  for (const at of missing.reverse()) {
    try {
      await mkdir(at);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    }
  }
}
