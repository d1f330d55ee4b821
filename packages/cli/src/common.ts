import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { loadProfiles, PROFILE_FILE_SUFFIX, WALL_KIND } from '@spanprof/profile';
import type { Cost, LoadResult, ProfileFilter, Scope } from '@spanprof/profile';
import { ms, pct } from './format';

/** Where a command writes: a line to stdout, a line to stderr. */
export interface Output {
  print: (text: string) => void;
  warn: (text: string) => void;
}

export interface CommonOptions {
  tag: Record<string, string>;
  from?: number;
  to?: number;
  json?: boolean;
  limit: number;
}

/** Raised for a user error: the message is printed as is, exit code 1. */
export class UsageError extends Error {}

export function parseTag(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function parseTime(value: string): number {
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`expected an ISO date or epoch milliseconds, got "${value}"`);
  return t;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number from 1, got "${value}"`);
  return n;
}

/** The options every reading command takes: tag and time filters, rows, JSON. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option('--tag <key=value>', 'only profiles with this tag (repeatable), e.g. service.version=1.4.0', parseTag)
    .option('--from <time>', 'only profiles ending after this time (ISO 8601 or epoch ms)', parseTime)
    .option('--to <time>', 'only profiles starting before this time (ISO 8601 or epoch ms)', parseTime)
    .option('--limit <n>', 'rows per table', parseLimit, 10)
    .option('--json', 'print JSON instead of tables');
}

/**
 * The profiles of `dir` the filters select; unreadable files (malformed, not regular files, over a
 * bound of `PROFILE_LIMITS`) are warned about with the reason; none at all is a usage error.
 */
export function load(dir: string, opts: CommonOptions, warn: (line: string) => void): LoadResult {
  const filter: ProfileFilter = { tags: opts.tag, from: opts.from, to: opts.to };
  const result = loadProfiles(dir, filter);
  for (const { file, reason } of result.skipped) warn(`spanprof: skipped ${file}: not a readable profile (${reason})`);
  if (result.total === 0) throw new UsageError(`spanprof: no profiles in ${dir} (expected *.wall.pb.gz files written by spanprof)`);
  // Skipped events profiles leave their wall profiles readable.
  const unreadable = result.skipped.filter((s) => s.file.endsWith(`.${WALL_KIND}${PROFILE_FILE_SUFFIX}`)).length;
  if (result.profiles.length === 0 && unreadable < result.total) {
    throw new UsageError(`spanprof: none of the ${result.total} profiles in ${dir} match the tag and time filters`);
  }
  return result;
}

export const costColumns = (c: Cost, whole: Cost): string[] => [ms(c.cpuNanos), pct(c.cpuNanos, whole.cpuNanos), ms(c.wallNanos), String(c.samples)];
/** Sampled time: CPU, and running (the thread ran the code, on or off the CPU: what pprof calls wall time). */
export const COST_HEADER = ['cpu ms', 'cpu %', 'running ms', 'samples'];

export function describe(scope: Scope): string {
  switch (scope.kind) {
    case 'all':
      return 'all samples';
    case 'span':
      return `span ${scope.id}`;
    case 'trace':
      return `trace ${scope.id}`;
    case 'root':
      return `local root ${scope.id}`;
    case 'endpoint':
      return `endpoint "${scope.name}"`;
    case 'label':
      return `label ${scope.name}=${scope.value}`;
  }
}

/** `--label name=value`: the samples with that custom label. */
export function labelScope(label: Record<string, string> | undefined): Scope | undefined {
  const entries = Object.entries(label ?? {});
  if (entries.length > 1) throw new UsageError('spanprof: give one --label name=value');
  return entries.length === 0 ? undefined : { kind: 'label', name: entries[0][0], value: entries[0][1] };
}

export function describeTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
