import { codes, message } from '@spanprof/exporter-base';
import { logger } from './diag';

/** The faults of the whole process (every copy of this package), kept apart from any session. */
const FAULTS = Symbol.for('@spanprof/core.hookFaults');
interface Faults {
  count: number;
  /** The places already warned about (a few fixed names: bounded). */
  warned: Set<string>;
}
type GlobalWithFaults = typeof globalThis & { [FAULTS]?: Faults };

function faults(): Faults {
  const global = globalThis as GlobalWithFaults;
  return (global[FAULTS] ??= { count: 0, warned: new Set() });
}

/**
 * A fault in one of spanprof's hooks into the application (a span processor hook, an async hook,
 * the context storage, an I/O event source): caught, counted (`stats().hookFailures`), and the
 * first of each `where` warned about, as a process warning too (`SPANPROF_W014`), saying what it
 * costs (`effect`). The application goes on. Never throws.
 */
export function hookFailed(where: string, err: unknown, effect: string): void {
  try {
    const state = faults();
    state.count++;
    logger.debug(`${where} failed`, err);
    if (state.warned.has(where)) return;
    state.warned.add(where);
    const text = `spanprof's ${where} failed (${err instanceof Error ? err.message : String(err)}); ${effect}. The application goes on; further failures are counted in stats().hookFailures`;
    logger.warn(message(codes.HOOK_FAILED, text));
    process.emitWarning(text, { code: codes.HOOK_FAILED });
  } catch {
    // Nothing of this may reach the application.
  }
}

/** Faults counted by `hookFailed` in this process. */
export function hookFailures(): number {
  return faults().count;
}
