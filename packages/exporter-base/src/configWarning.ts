import type { DiagLogger } from '@opentelemetry/api';
import { logger as ownLogger } from './diag';
import { codes, message } from './errors';

/** The configuration warnings already shown as process warnings, shared by every copy of this package. */
const SHOWN = Symbol.for('@spanprof/exporter-base.configWarnings');
type GlobalWithShown = typeof globalThis & { [SHOWN]?: Set<string> };
/** Distinct configuration warnings shown as process warnings, at most (each is also a `diag` warning). */
const MAX_SHOWN = 100;

/**
 * A configuration problem (`SPANPROF_W001`): a `diag` warning, and a process warning (printed by
 * Node with no logger set up, as when the bundle builds the processor) the first time this text
 * is said in the process. `text` names the option or variable, what it accepts and what is used
 * instead; never a secret.
 */
export function warnConfig(text: string, log: DiagLogger = ownLogger): void {
  log.warn(message(codes.INVALID_OPTION, text));
  const global = globalThis as GlobalWithShown;
  const shown = (global[SHOWN] ??= new Set());
  if (shown.has(text) || shown.size >= MAX_SHOWN) return;
  shown.add(text);
  try {
    process.emitWarning(text, { code: codes.INVALID_OPTION });
  } catch {
    // A warning listener that throws is not ours to break on.
  }
}
