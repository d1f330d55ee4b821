import { logger } from './diag';
import { codes, message } from './errors';

/** An environment variable's value, or undefined when unset or blank. */
export function envString(name: string): string | undefined {
  const value = process.env[name];
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

/** A positive integer from the environment; a wrong value is warned about (naming the variable) and ignored. */
export function envPositiveInteger(name: string, value: string, fallback: number): number {
  if (/^\d+$/.test(value) && Number(value) > 0 && Number(value) <= 2_147_483_647) return Number(value);
  logger.warn(message(codes.INVALID_OPTION, `environment variable ${name}=${JSON.stringify(value.slice(0, 40))}: expected a positive integer up to 2147483647; using ${fallback}`));
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
  if (bad > 0) logger.warn(message(codes.INVALID_OPTION, `environment variable ${name}: ${bad} entr${bad === 1 ? 'y is' : 'ies are'} not key=value and ${bad === 1 ? 'was' : 'were'} skipped`));
  return out;
}
