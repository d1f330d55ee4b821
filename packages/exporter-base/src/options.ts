import type { DiagLogger } from '@opentelemetry/api';
import { logger as ownLogger } from './diag';
import { MAX_TIMER_MILLIS } from './env';
import { warnConfig } from './configWarning';

/**
 * The one way spanprof checks an option: a wrong value is warned about once
 * (`SPANPROF_W001`), naming the option, what it accepts and what is used
 * instead, and never throws. Every package checks its options with these.
 */

/** A value for a warning, short and never throwing: strings and numbers as JSON, objects by kind (they may be huge or circular). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${String(value)}n`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Warns about a wrong option: `SPANPROF_W001 option <option>: <value> is not accepted (<accepted>); using <used>`. */
export function warnOption(option: string, value: unknown, accepted: string, used: string, log: DiagLogger = ownLogger): void {
  warnConfig(`option ${option}: ${describeValue(value)} is not accepted (${accepted}); using ${used}`, log);
}

/**
 * An integer option in [min, max]: a wrong type gets the default; a value out of range or with a
 * fraction is clamped and rounded, or with `outOfRange: 'default'` (timeouts and delays, where 0
 * often means "none" and a clamped 1 ms would fail everything) gets the default too.
 */
export function integerOption(
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  log: DiagLogger = ownLogger,
  outOfRange: 'clamp' | 'default' = 'clamp',
): number {
  if (value === undefined) return fallback;
  const accepted = `an integer from ${min} to ${max}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || (outOfRange === 'default' && (!Number.isInteger(value) || value < min || value > max))) {
    warnOption(option, value, accepted, String(fallback), log);
    return fallback;
  }
  const clamped = Math.min(max, Math.max(min, Math.round(value)));
  if (clamped !== value) warnOption(option, value, accepted, String(clamped), log);
  return clamped;
}

/** A boolean option: anything else gets the default. */
export function booleanOption(option: string, value: unknown, fallback: boolean, log: DiagLogger = ownLogger): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  warnOption(option, value, 'true or false', String(fallback), log);
  return fallback;
}

/**
 * @deprecated Use `integerOption(\`${owner}.${name}\`, value, fallback, 1, MAX_TIMER_MILLIS, logger, 'default')`.
 * Kept for exporters written against @spanprof/core 0.1, whose `positiveIntegerOption` it was:
 * anything but an integer from 1 to 2147483647 gets `fallback`, with one warning.
 */
export function positiveIntegerOption(owner: string, name: string, value: unknown, fallback: number): number {
  return integerOption(`${owner}.${name}`, value, fallback, 1, MAX_TIMER_MILLIS, ownLogger, 'default');
}
