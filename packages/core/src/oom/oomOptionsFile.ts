// Where the out-of-memory export process finds what it needs: a file in a directory of this
// process's own under the temporary directory, made by `mkdtemp` (mode 0700, a random name no
// other user can plant in advance), each version written exclusively and without following a
// link, then renamed over the last. The export process reads it only when both the directory and
// the file belong to its user and nobody else may write them. The directory goes when the
// profiler stops and at exit; those of processes that died without either are removed by the
// next process of the same user that arms the monitor.
import { closeSync, constants, fstatSync, lstatSync, mkdtempSync, openSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { writeNewFileSync } from '../files';
import { readdir, lstat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Directories' names start with it: `spanprof-oom-<pid>-<PID namespace>-<random>`. */
const PREFIX = 'spanprof-oom-';
/** An earlier version's options file, this old, is litter whatever its PID says (another PID namespace may share the directory). */
const OLD_FILE_MILLIS = 24 * 3600_000;

/**
 * The PID namespace of this process (the inode of /proc/self/ns/pid), or 0 where there is none to
 * read: containers sharing a temporary directory each have their own PIDs, so a PID is judged
 * only within its own namespace.
 */
function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}
const FILE = 'options.json';
/** Largest options file read: a few exporters' options and the tags. */
const MAX_OPTIONS_BYTES = 1024 * 1024;

/** This process's options file for the out-of-memory export; written again with `write`, removed with `remove`. */
export class OomOptionsFile {
  private directory: string | undefined;
  private version = 0;

  /** The file's path (the same for every version), making the directory on first use. Throws when it cannot. */
  get path(): string {
    this.directory ??= mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-${pidNamespace()}-`));
    return join(this.directory, FILE);
  }

  /** Writes `content` as the file's new version. Throws when it cannot. */
  write(content: string): void {
    const path = this.path;
    const next = `${path}.${++this.version}`;
    writeNewFileSync(next, content, 0o600);
    renameSync(next, path);
  }

  /** Removes the directory and the file; never throws. */
  remove(): void {
    const directory = this.directory;
    this.directory = undefined;
    if (directory === undefined) return;
    try {
      rmSync(directory, { recursive: true, force: true });
    } catch {
      // Left in the temporary directory: the next process of this user removes it.
    }
  }
}

/**
 * Reads the options file at `path` for the export process; throws unless the file is a regular
 * file of this user that nobody else may write, in a directory of the same kind, and holds at most 1 MiB.
 */
export function readOomOptions(path: string): string {
  const uid = process.getuid?.();
  const dir = lstatSync(dirname(path));
  if (!dir.isDirectory() || (uid !== undefined && dir.uid !== uid) || (dir.mode & 0o022) !== 0 || !basename(dirname(path)).startsWith(PREFIX)) {
    throw new Error(`${dirname(path)} is not a private spanprof directory of this user`);
  }
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o022) !== 0) {
      throw new Error(`${path} is not a private file of this user`);
    }
    if (stat.size > MAX_OPTIONS_BYTES) throw new Error(`${path} holds more than ${MAX_OPTIONS_BYTES} bytes`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Whether process `pid` is gone (not one that runs under another user). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes this user's out-of-memory directories left in the temporary directory by processes of
 * this PID namespace that are gone (and the `spanprof-oom-<pid>.json` files of earlier versions, a
 * day old). Resolves with how many; never rejects.
 */
export async function removeStaleOomFiles(directory = tmpdir()): Promise<number> {
  const uid = process.getuid?.();
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return 0;
  }
  const namespace = pidNamespace();
  for (const name of names) {
    // A directory of this PID namespace, or an earlier version's file (`spanprof-oom-<pid>.json`).
    const match = /^spanprof-oom-(\d+)(?:-(\d+)-[A-Za-z0-9]{6}|\.json)$/.exec(name);
    if (match === null || (match[2] !== undefined && match[2] !== namespace)) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || !isGone(pid)) continue;
    try {
      const path = join(directory, name);
      const stat = await lstat(path);
      // Only this user's, and never through a link.
      if ((uid !== undefined && stat.uid !== uid) || stat.isSymbolicLink()) continue;
      if (match[2] === undefined ? !stat.isFile() || Date.now() - stat.mtimeMs < OLD_FILE_MILLIS : !stat.isDirectory()) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    } catch {
      // Removed meanwhile, or not ours to remove.
    }
  }
  return removed;
}
