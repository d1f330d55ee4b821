import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SourceMapper } from '@datadog/pprof';
import { decodedMappings, GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND, originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { codes, message } from '@spanprof/exporter-base';
import { logger, processWarning } from './diag';
import { ownIo } from './events/IoEvents';

type Generated = Parameters<SourceMapper['mappingInfo']>[0];
type Original = ReturnType<SourceMapper['mappingInfo']>;

/** The end of a script read for its `sourceMappingURL` annotation (a longer last line is read whole: an inline map). */
const TAIL_BYTES = 4096;
/** The largest map file (or script with an inline map) read. */
export const MAX_MAP_BYTES = 32 * 1024 * 1024;
/**
 * The largest `mappings` of one map, in characters: decoded, mappings take about 20 times their
 * text in memory (a 4 MiB string, some 75 MiB), so this, not the file's size, bounds the cost.
 */
export const MAX_MAPPINGS_CHARS = 4 * 1024 * 1024;
/** Characters of `mappings` decoded in all; past it, scripts not yet seen keep their compiled locations. */
export const MAX_TOTAL_MAPPINGS_CHARS = 8 * 1024 * 1024;
/** Generated lines of one map at most (an empty line still costs an array). */
export const MAX_MAP_LINES = 1_000_000;
/** Scripts looked up at most (a map or none, each remembered). */
export const MAX_SCRIPTS = 20_000;

const ANNOTATION = /\/\/[#@][ \t]*sourceMappingURL=([^\s'"]+)[ \t]*$/;
const LINE_BREAK = /\r\n|[\n\r\u2028\u2029]/;
const NODE_MODULES = `${sep}node_modules${sep}`;

/** A script with a map; `missing`: it names a map that could not be read; null: no map. */
type Entry = TraceMap | 'missing' | null;

/**
 * pprof's source mapper, with maps read lazily: a script's map is read the first time one of
 * its locations is serialized (a profile's sample or a heap allocation in it), so only scripts
 * the process loaded and ran are read, wherever they live, and never a directory. Scripts under
 * `node_modules` keep their compiled locations (a package's maps name sources it rarely ships).
 *
 * Reads are synchronous (serialization is), regular files only, and spanprof's own I/O (no
 * events). What a map may cost is bounded where it is decided, in the decoded mappings
 * (MAX_MAPPINGS_CHARS and MAX_MAP_LINES per map, MAX_TOTAL_MAPPINGS_CHARS in all), besides
 * MAX_MAP_BYTES per file and MAX_SCRIPTS looked up; index maps (sections) are not read. A map
 * that cannot be read or parsed leaves the compiled locations, and an answer of a map that is not
 * a well-formed position is not used. Maps are parsed and decoded, when read, by
 * `@jridgewell/trace-mapping`; `sourcesContent` is dropped before.
 *
 * Only `mappingInfo`, the method pprof's serializer calls, is overridden; the base class's own
 * maps stay empty.
 */
export class LazySourceMaps extends SourceMapper {
  /** Scripts with a map, how long reading maps took in all (ms), and scripts whose map was not read for the bounds. */
  readonly figures = { files: 0, loadMillis: 0, skipped: 0 };
  private readonly scripts = new Map<string, Entry>();
  private mappingsChars = 0;
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
      // A map is the application's file, not ours: only well-formed answers are used.
      if (typeof pos.source !== 'string' || !Number.isSafeInteger(pos.line) || pos.line < 1) return location;
      return {
        file: pos.source.startsWith('file://') ? fileURLToPath(pos.source) : pos.source,
        line: pos.line,
        name: typeof pos.name === 'string' && pos.name !== '' ? pos.name : location.name,
        column: Number.isSafeInteger(pos.column) && pos.column >= 0 ? pos.column + 1 : undefined,
      };
    } catch (err) {
      logger.debug(`source map lookup failed for ${location.file}`, err);
      return location;
    }
  }

  /** Finds and reads the map of the script named `file` (a path or a `file:` URL), remembered either way. */
  private look(file: string): Entry {
    const path = scriptPath(file);
    // Not a file, or a package's: nothing to remember (the check costs less than a slot).
    if (path === undefined || path.includes(NODE_MODULES)) return null;
    if (this.scripts.size >= MAX_SCRIPTS) {
      this.skip(file, false);
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
    if (url === undefined && tail.cut && !LINE_BREAK.test(tail.text.trimEnd())) {
      // The last non-empty line is longer than the tail: an inline map, most likely.
      const whole = this.take(path);
      if (whole == null) return null;
      url = annotation(whole);
    }
    if (url === undefined) {
      // No annotation: a map beside the script, by the usual name, if there is one.
      const beside = this.take(`${path}.map`, true);
      return beside == null ? null : this.parse(beside, `${path}.map`);
    }
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      if (comma === -1) return null;
      const meta = url.slice(5, comma);
      const data = url.slice(comma + 1);
      return this.parse(meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data), path);
    }
    const mapPath = url.startsWith('file://') ? fileURLToPath(url) : resolve(dirname(path), decodedUrl(url));
    const text = this.take(mapPath);
    if (text === null) return null;
    return text === undefined ? 'missing' : this.parse(text, mapPath);
  }

  /** A whole file's text within MAX_MAP_BYTES; null past it; undefined if absent or not a regular file. */
  private take(path: string, absentIsFine = false): string | null | undefined {
    const read = readBounded(path, MAX_MAP_BYTES, false, absentIsFine);
    if (read === undefined) return undefined;
    if (read.cut) {
      this.skip(path, true);
      return null;
    }
    return read.text;
  }

  /**
   * The map in `text`, decoded now (within the bounds, so that what decoding costs is known and
   * counted here); null for a map past them, an index map (sections) or a malformed one.
   * `mapPath`: where its relative sources are resolved from.
   */
  private parse(text: string, mapPath: string): TraceMap | null {
    const json = JSON.parse(text) as { sections?: unknown; mappings?: unknown; sourcesContent?: unknown } | null;
    // Index maps (sections) are left out: an offset alone can make their decoding unbounded.
    if (typeof json !== 'object' || json === null || json.sections !== undefined || typeof json.mappings !== 'string') return null;
    const mappings = json.mappings;
    if (mappings.length > MAX_MAPPINGS_CHARS || this.mappingsChars + mappings.length > MAX_TOTAL_MAPPINGS_CHARS || lineCount(mappings) > MAX_MAP_LINES) {
      this.skip(mapPath, true);
      return null;
    }
    // The sources' text is never shown: not kept.
    delete json.sourcesContent;
    // A file URL, so that a `#` or `?` in a directory name stays part of the path.
    const map = new TraceMap(json as ConstructorParameters<typeof TraceMap>[0], pathToFileURL(mapPath).href);
    decodedMappings(map);
    this.mappingsChars += mappings.length;
    return map;
  }

  /**
   * A script whose map is not read for the bounds: said once per profiler start (a warning), and
   * counted (`count`: false once the scripts looked up are at their bound, when the same script
   * may come again).
   */
  private skip(path: string, count: boolean): void {
    if (count) this.figures.skipped++;
    if (this.warned) return;
    this.warned = true;
    processWarning(
      codes.SOURCE_MAPS_UNREAD,
      `source maps past spanprof's bounds (${MAX_MAP_BYTES / 1048576} MiB per map file; mappings of ${MAX_MAPPINGS_CHARS / 1048576} MiB per map, ${MAX_TOTAL_MAPPINGS_CHARS / 1048576} MiB in all; ${MAX_SCRIPTS} scripts) are not read; ${path} and later ones keep their compiled locations (counted in stats().sourceMaps.skipped)`,
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
  const lines = text.trimEnd().split(LINE_BREAK);
  return ANNOTATION.exec(lines[lines.length - 1])?.[1];
}

/** A map URL as a path: percent-decoded, or as written if it is no valid encoding (`100%.map`). */
function decodedUrl(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

/** Lines of a `mappings` string (its `;` plus one), counted without splitting it. */
function lineCount(mappings: string): number {
  let lines = 1;
  for (let at = mappings.indexOf(';'); at !== -1; at = mappings.indexOf(';', at + 1)) lines++;
  return lines;
}

/**
 * Up to `limit` bytes of a regular file (its end when `tail`), opened without blocking (a FIFO
 * never hangs the collection); `cut` when the file is longer. Undefined if it cannot be opened
 * or is not a regular file.
 */
function readBounded(path: string, limit: number, tail: boolean, absentIsFine = true): { text: string; cut: boolean } | undefined {
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
    return { text: buffer.toString('utf8', 0, got), cut: size > length };
  } finally {
    closeSync(fd);
  }
}
