import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { decodePprof } from './decode';
import type { PprofMessage } from './decode';
import { PROFILE_LIMITS, ProfileFileError, scanPprof } from './limits';
import type { ProfileLimits } from './limits';

/**
 * Opened for reading without following a symbolic link (the check after `lstat` holds even if the
 * name is swapped in between) and without blocking (a FIFO opens at once, then is refused).
 * Windows has neither flag, nor FIFOs.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

const SYMBOLIC_LINK = 'a symbolic link, not followed: profile files are read only as regular files';

function notRegular(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isSymbolicLink()) return SYMBOLIC_LINK;
  if (stats.isDirectory()) return 'a directory, not a regular file';
  if (stats.isFIFO()) return 'a FIFO, not a regular file';
  if (stats.isSocket()) return 'a socket, not a regular file';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device, not a regular file';
  return 'not a regular file';
}

function checkFile(stats: Stats, limits: ProfileLimits): void {
  const refused = notRegular(stats);
  if (refused !== undefined) throw new ProfileFileError(refused);
  if (stats.size > limits.fileBytes) {
    throw new ProfileFileError(
      `${stats.size.toLocaleString('en-US')} bytes, more than the bound PROFILE_LIMITS.fileBytes (${limits.fileBytes.toLocaleString('en-US')})`,
    );
  }
}

function errnoError(err: unknown): ProfileFileError {
  const code = (err as NodeJS.ErrnoException).code;
  // O_NOFOLLOW's refusal: the name became a link after lstat.
  if (code === 'ELOOP') return new ProfileFileError(SYMBOLIC_LINK);
  return new ProfileFileError(code ?? String(err));
}

/** The bytes of a regular file of at most `limits.fileBytes`. */
function readRegularFile(file: string, limits: ProfileLimits): Buffer {
  let fd: number;
  try {
    // lstat first: a FIFO, a device or a link is refused without being opened at all.
    checkFile(lstatSync(file), limits);
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw err instanceof ProfileFileError ? err : errnoError(err);
  }
  try {
    const stats = fstatSync(fd);
    checkFile(stats, limits);
    const bytes = Buffer.allocUnsafe(stats.size);
    let length = 0;
    while (length < bytes.length) {
      const n = readSync(fd, bytes, length, bytes.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return bytes.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Decompresses a gzipped profile within `limits.decodedBytes` and `limits.inflateRatio` times its size. */
function inflate(bytes: Buffer, limits: ProfileLimits): Buffer {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    if (bytes.length > limits.decodedBytes)
      throw new ProfileFileError(`more than the bound PROFILE_LIMITS.decodedBytes (${limits.decodedBytes.toLocaleString('en-US')} bytes)`);
    return bytes;
  }
  const byRatio = Math.max(limits.inflateFloorBytes, limits.inflateRatio * bytes.length);
  const maxOutputLength = Math.min(limits.decodedBytes, byRatio);
  try {
    return gunzipSync(bytes, { maxOutputLength });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
    const bound =
      maxOutputLength === limits.decodedBytes
        ? 'the bound PROFILE_LIMITS.decodedBytes'
        : `over ${limits.inflateRatio} times its ${bytes.length.toLocaleString('en-US')} bytes: the bound PROFILE_LIMITS.inflateRatio, beyond inflateFloorBytes`;
    throw new ProfileFileError(`decompresses to more than ${maxOutputLength.toLocaleString('en-US')} bytes, ${bound}`);
  }
}

/**
 * Reads and decodes one profile file (wall, events or heap; gzipped or not) within `limits`: a
 * regular file only (never a FIFO, a device or a symbolic link, never a blocking open), of bounded
 * size on disk and decompressed, whose samples, locations, functions, strings and labels are counted
 * (`scanPprof`) before any of them is built. Every reader of profile files goes through it. Throws
 * `ProfileFileError` naming the bound a file passed, or the error of a malformed one.
 */
export function readProfileFile(file: string, limits: ProfileLimits = PROFILE_LIMITS): PprofMessage {
  const raw = inflate(readRegularFile(file, limits), limits);
  scanPprof(raw, limits);
  return decodePprof(raw);
}
