// Files spanprof creates: each new, never through a link, written whole; directories made one
// level at a time.
import { closeSync, constants, mkdirSync, openSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A new file, never through a link. */
const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes `bytes` whole to a new file at `path` (created with `mode`), never through a link; a file
 * of that name left by a write that died is replaced (the link itself, if it is one). A file that
 * could not be written whole (a full disk) is removed. Throws what the file system said.
 */
export function writeNewFileSync(path: string, bytes: Uint8Array | string, mode = 0o644): void {
  let fd: number;
  try {
    fd = openSync(path, NEW_FILE, mode);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    unlinkSync(path);
    fd = openSync(path, NEW_FILE, mode);
  }
  try {
    // writeFileSync on a descriptor writes until every byte is written (write(2) may write fewer).
    writeFileSync(fd, bytes);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw err;
  }
  closeSync(fd);
}

/** `writeNewFileSync`, without blocking the event loop. */
export async function writeNewFile(path: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
  let file;
  try {
    file = await open(path, NEW_FILE, mode);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    await unlink(path);
    file = await open(path, NEW_FILE, mode);
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

/**
 * Creates `dir` and its missing parents one level at a time (a few system calls, once per
 * directory). Not `mkdir(dir, { recursive: true })`: under a pseudo file system such as /proc,
 * Node's recursive mkdir (20 and 24) never returns and spins a thread-pool thread, which also
 * keeps the process from exiting.
 */
export function makeDirectory(dir: string): void {
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
