import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMapper } from '@datadog/pprof';
import { FlattenMap, GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND, originalPositionFor } from '@jridgewell/trace-mapping';
import type { SectionedSourceMapInput, TraceMap } from '@jridgewell/trace-mapping';
import { codes, message } from '@spanprof/exporter-base';
import { logger, processWarning } from './diag';
import { ownIo } from './events/IoEvents';

type Generated = Parameters<SourceMapper['mappingInfo']>[0];
type Original = ReturnType<SourceMapper['mappingInfo']>;

/** The end of a script read for its `sourceMappingURL` annotation (a longer last line is read whole: an inline map). */
const TAIL_BYTES = 4096;
/** The largest map (or script with an inline map) read. */
export const MAX_MAP_BYTES = 32 * 1024 * 1024;
/** Bytes of maps read in all; past it, scripts not yet seen keep their compiled locations. */
export const MAX_TOTAL_MAP_BYTES = 64 * 1024 * 1024;
/** Scripts looked up at most (a map or none, each remembered). */
export const MAX_SCRIPTS = 20_000;

const ANNOTATION = /^[ \t]*\/\/[#@][ \t]+sourceMappingURL=([^\s'"]+)[ \t]*$/;
const NODE_MODULES = `${sep}node_modules${sep}`;

/** A script with a map; `missing`: it names a map that could not be read; null: no map. */
type Entry = TraceMap | 'missing' | null;

/**
 * pprof's source mapper, with maps read lazily: a script's map is read the first time one of
 * its locations is serialized (a profile's sample or a heap allocation in it), so only scripts
 * the process loaded and ran are read, wherever they live, and never a directory. Scripts under
 * `node_modules` keep their compiled locations (a package's maps name sources it rarely ships).
 *
 * Reads are synchronous (serialization is), bounded (MAX_MAP_BYTES per map,
 * MAX_TOTAL_MAP_BYTES in all, MAX_SCRIPTS looked up), regular files only, and spanprof's own
 * I/O (no events). A map that cannot be read or parsed leaves the compiled locations. Maps are
 * parsed by `@jridgewell/trace-mapping`; `sourcesContent` is dropped before.
 *
 * Only `mappingInfo`, the method pprof's serializer calls, is overridden; the base class's own
 * maps stay empty.
 */
export class LazySourceMaps extends SourceMapper {
  /** Scripts with a map, how long reading maps took in all (ms), and scripts whose map was not read for the bounds. */
  readonly figures = { files: 0, loadMillis: 0, skipped: 0 };
  private readonly scripts = new Map<string, Entry>();
  private bytesRead = 0;
  private warned = false;

  constructor() {
    super(false);
  }

  override mappingInfo(location: Generated): Original {
    try {
      let entry = this.scripts.get(location.file);
      if (entry === undefined) entry = this.look(location.file);
      if (entry === null) return location;
      if (entry === 'missing') return { ...location, missingMapFile: true };
      // V8's columns are 1-based, the map's 0-based; no column (0) means "somewhere on the line".
      const column = location.column > 0 ? location.column - 1 : 0;
      const pos = originalPositionFor(entry, { line: location.line, column, bias: column === 0 ? LEAST_UPPER_BOUND : GREATEST_LOWER_BOUND });
      if (pos.source === null) return location;
      return {
        file: pos.source.startsWith('file://') ? fileURLToPath(pos.source) : pos.source,
        line: pos.line || undefined,
        name: pos.name || location.name,
        column: pos.column === null ? undefined : pos.column + 1,
      };
    } catch (err) {
      logger.debug(`source map lookup failed for ${location.file}`, err);
      return location;
    }
  }

  /** Finds and reads the map of the script named `file` (a path or a `file:` URL), remembered either way. */
  private look(file: string): Entry {
    const path = scriptPath(file);
    if (path === undefined || path.includes(NODE_MODULES)) {
      if (this.scripts.size < MAX_SCRIPTS) this.scripts.set(file, null);
      return null;
    }
    if (this.scripts.size >= MAX_SCRIPTS || this.bytesRead >= MAX_TOTAL_MAP_BYTES) {
      this.skip(file);
      if (this.scripts.size < MAX_SCRIPTS) this.scripts.set(file, null);
      return null;
    }
    const began = performance.now();
    let entry: Entry = null;
    try {
      entry = ownIo(() => this.read(path));
    } catch (err) {
      logger.warn(message(codes.SOURCE_MAPS_UNREAD, `the source map of ${path} could not be read, its locations stay compiled: ${String(err)}`));
    }
    this.figures.loadMillis += performance.now() - began;
    if (entry !== null && entry !== 'missing') this.figures.files++;
    this.scripts.set(file, entry);
    return entry;
  }

  private read(path: string): Entry {
    const tail = readBounded(path, TAIL_BYTES, true);
    if (tail === undefined) return null;
    let url = annotation(tail.text);
    if (url === undefined && tail.cut && tail.text.trimEnd().lastIndexOf('\n') === -1) {
      // The last non-empty line is longer than the tail: an inline map, most likely.
      const whole = this.take(path);
      if (whole == null) return null;
      url = annotation(whole);
    }
    if (url === undefined) {
      // No annotation: a map beside the script, by the usual name, if there is one.
      const beside = this.take(`${path}.map`, true);
      return beside == null ? null : parse(beside, `${path}.map`);
    }
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      if (comma === -1) return null;
      const meta = url.slice(5, comma);
      const data = url.slice(comma + 1);
      return parse(meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data), path);
    }
    const mapPath = url.startsWith('file://') ? fileURLToPath(url) : resolve(dirname(path), decodeURIComponent(url));
    const text = this.take(mapPath);
    if (text === null) return null;
    return text === undefined ? 'missing' : parse(text, mapPath);
  }

  /** A whole file's text within the bounds, counted; null past the bounds; undefined if absent or not a regular file. */
  private take(path: string, absentIsFine = false): string | null | undefined {
    const read = readBounded(path, Math.min(MAX_MAP_BYTES, MAX_TOTAL_MAP_BYTES - this.bytesRead), false, absentIsFine);
    if (read === undefined) return undefined;
    if (read.cut) {
      this.skip(path);
      return null;
    }
    this.bytesRead += read.bytes;
    return read.text;
  }

  /** A script whose map is not read for the bounds: said once per profiler start (a warning, with the count so far). */
  private skip(path: string): void {
    this.figures.skipped++;
    if (this.warned) return;
    this.warned = true;
    processWarning(
      codes.SOURCE_MAPS_UNREAD,
      `source maps past spanprof's bounds (${MAX_MAP_BYTES / 1048576} MiB per map, ${MAX_TOTAL_MAP_BYTES / 1048576} MiB and ${MAX_SCRIPTS} scripts in all) are not read; ${path} and later ones keep their compiled locations (counted in stats().sourceMaps.skipped)`,
    );
  }
}

/** The path of a script as V8 names it (a path or a `file:` URL); undefined for anything else (`node:` modules, evals). */
function scriptPath(file: string): string | undefined {
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file);
    } catch {
      return undefined;
    }
  }
  return isAbsolute(file) ? file : undefined;
}

/** The URL of the `sourceMappingURL` annotation on the last non-empty line (ECMA-426), if any. */
function annotation(text: string): string | undefined {
  let end = text.length;
  while (end > 0) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    const line = text.slice(start, end).replace(/\r$/, '');
    if (line.trim() !== '') return ANNOTATION.exec(line)?.[1];
    end = start - 1;
  }
  return undefined;
}

function parse(text: string, mapPath: string): TraceMap | null {
  const json = JSON.parse(text) as SectionedSourceMapInput & { sourcesContent?: unknown };
  if (typeof json !== 'object' || json === null) return null;
  // The sources' text is never shown: not kept.
  delete json.sourcesContent;
  return FlattenMap(json, mapPath);
}

/**
 * Up to `limit` bytes of a regular file (its end when `tail`), opened without blocking (a FIFO
 * never hangs the collection); `cut` when the file is longer. Undefined if it cannot be opened
 * or is not a regular file.
 */
function readBounded(path: string, limit: number, tail: boolean, absentIsFine = true): { text: string; bytes: number; cut: boolean } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (!absentIsFine || (err as NodeJS.ErrnoException).code !== 'ENOENT') logger.debug(`${path} not opened`, err);
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return undefined;
    const size = stat.size;
    const length = Math.max(0, Math.min(size, limit));
    const buffer = Buffer.allocUnsafe(length);
    let got = 0;
    const from = tail ? size - length : 0;
    while (got < length) {
      const n = readSync(fd, buffer, got, length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    return { text: buffer.toString('utf8', 0, got), bytes: got, cut: size > length };
  } finally {
    closeSync(fd);
  }
}
