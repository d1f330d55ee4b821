import { fileURLToPath } from 'node:url';

/**
 * What "a function" is, for every figure spanprof reports about one: the
 * self and total time of `spanprof hotspots` and the viewer, the rows of
 * `spanprof diff` and the `spanprof.function.cpu.time` metric.
 *
 * A function is its name and its file's path. That is pprof's Function as
 * `@datadog/pprof` writes it (one per script and name, no start line), and
 * pprof's own `-filefunctions` grouping. The line is not part of it: it is the
 * definition line of a location, which moves with every edit above it and
 * differs between same-named functions of one file, which pprof already
 * counts as one function. Flame graphs and folded stacks stay per frame
 * (name, file and line), where a line tells call sites apart.
 */

/** The name shown for a function the profile gives no name. */
export const ANONYMOUS_FUNCTION = '(anonymous)';
/** The name shown for a frame whose location or function the profile does not hold. */
export const UNKNOWN_FUNCTION = '?';

/** A file as a path: ES modules' `file://` URLs become one; other names (`node:internal/...`, `''`) stay. */
export function normalizeFile(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file;
  }
}

/** The name a function is shown and keyed by. */
export function functionName(name: string): string {
  return name === '' ? ANONYMOUS_FUNCTION : name;
}

/** The identity of a function: its shown name and its normalized path. */
export function functionKey(name: string, file: string): string {
  return `${name}\u0000${file}`;
}

/**
 * The part of a path that stays the same across deployments, for matching a
 * function between two selections whose directories differ (`releases/1.4.0/`,
 * another install root): the path inside its package when it lies under
 * `node_modules` (`router/index.js`), else the file name; names that are not
 * paths (`node:internal/timers`) stay whole.
 */
export function portablePath(file: string): string {
  // Not a path: Node's own modules (`node:internal/timers`), other schemes; a Windows drive is a path.
  if (/^[a-z][a-z0-9+.-]*:/i.test(file) && !/^[a-z]:[\\/]/i.test(file)) return file;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) return file.slice(modules + '/node_modules/'.length);
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return slash < 0 ? file : file.slice(slash + 1);
}
