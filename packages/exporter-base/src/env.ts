import { warnConfig } from './configWarning';

/**
 * The one reader of environment variables: every package reads `SPANPROF_*`,
 * `OTEL_EXPORTER_OTLP_*`, `PYROSCOPE_*` and `DD_*` through these, when it is
 * constructed (never at module load). The parsers return undefined for a
 * value they do not accept; the caller says what it uses instead.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** An environment variable's value, trimmed, or undefined when unset or blank. */
export function envString(name: string, env: Env = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** The first of `names` that is set, with its name. */
export function firstEnv(...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = envString(name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** The longest delay a Node.js timer takes (longer ones fire after 1 ms); the largest integer a variable may hold. */
export const MAX_TIMER_MILLIS = 2_147_483_647;

/** Digits only, from 1 to 2147483647; else undefined. */
export function parsePositiveInteger(value: string): number | undefined {
  return /^\d+$/.test(value) && Number(value) > 0 && Number(value) <= MAX_TIMER_MILLIS ? Number(value) : undefined;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
/** What boolean variables accept, for warnings. */
export const BOOLEAN_VALUES = 'true or false (also 1/0, yes/no, on/off)';

/** `true`/`false`, also 1/0, yes/no, on/off, in any case; else undefined. */
export function parseBoolean(value: string): boolean | undefined {
  const v = value.toLowerCase();
  return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
}

/** A positive integer from the environment; a wrong value is warned about (naming the variable) and ignored. */
export function envPositiveInteger(name: string, value: string, fallback: number): number {
  const parsed = parsePositiveInteger(value);
  if (parsed !== undefined) return parsed;
  warnConfig(`environment variable ${name}=${JSON.stringify(value.slice(0, 40))}: expected a positive integer up to ${MAX_TIMER_MILLIS}; using ${fallback}`);
  return fallback;
}

/**
 * `key1=value1,key2=value2` (W3C baggage style, values percent-decoded), as the
 * OTLP `*_HEADERS` variables take it. Malformed entries are skipped with one
 * warning that names the variable but never shows a value (headers carry secrets).
 */
export function parseKeyValueList(name: string, value: string): Record<string, string> {
  const out: Record<string, string> = {};
  let bad = 0;
  for (const entry of value.split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) {
      bad++;
      continue;
    }
    const key = entry.slice(0, eq).trim();
    try {
      out[key] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      bad++;
    }
  }
  if (bad > 0) {
    warnConfig(`environment variable ${name}: ${bad} entr${bad === 1 ? 'y is' : 'ies are'} not key=value and ${bad === 1 ? 'was' : 'were'} skipped`);
  }
  return out;
}
