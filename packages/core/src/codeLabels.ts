import { context, trace } from '@opentelemetry/api';
import { warnConfig } from '@spanprof/exporter-base';
import { checkLabels } from './customLabels';
import type { CustomLabelValues } from './customLabels';
import { logger } from './diag';
import { getSpanLabels, LABEL_SCOPE_KEY, LabelScope } from './labels';

const warned = new Set<string>();

/** Each kind of problem once per process (bounded: the keys name label names, themselves bounded). */
function warnOnce(key: string, text: string): void {
  if (warned.has(key) || warned.size >= 64) return;
  warned.add(key);
  warnConfig(text, logger);
}

/**
 * Runs `fn` with custom labels on every sample taken in its asynchronous scope: its
 * synchronous run, its awaits, timers and callbacks, the spans started inside it. Nested
 * scopes merge, the inner value winning; a scope's labels win over the request's (the
 * middleware's `labels`, `setLabels`) and never over spanprof's own. The same checks as the
 * middleware's `labels` (at most 8 per scope, values cut to 128 characters); each kind of
 * problem warned once (`SPANPROF_W001`), the label left out. Returns what `fn` returns; a
 * throw from `fn` goes to the caller, never one of spanprof's.
 *
 * ```js
 * await withLabels({ tenant: 'acme', plan: 'pro' }, () => handleJob(job));
 * ```
 */
export function withLabels<T>(labels: CustomLabelValues, fn: () => T): T {
  let scoped;
  try {
    const active = context.active();
    const outer = active.getValue(LABEL_SCOPE_KEY);
    const base = outer instanceof LabelScope ? outer.labels : undefined;
    const merged = checkLabels(labels, 'withLabels', warnOnce, base);
    if (merged !== undefined && merged !== base) scoped = active.setValue(LABEL_SCOPE_KEY, new LabelScope(merged));
  } catch (err) {
    logger.debug('withLabels failed', err);
  }
  return scoped === undefined ? fn() : context.with(scoped, fn);
}

/**
 * Adds custom labels to the current local trace (the request): every sample of its spans in
 * this process carries them, those taken before the call in the current period too (labels
 * are written at collection). The same checks and bounds as `withLabels`, counted with the
 * labels the request already has (at most 8). No span spanprof labels active: nothing is set
 * (warned once). Never throws.
 */
export function setLabels(labels: CustomLabelValues): void {
  try {
    const root = getSpanLabels(trace.getActiveSpan())?.root;
    if (root === undefined) {
      warnOnce('no-span', 'setLabels: no span labelled by spanprof is active (ProfilingSpanProcessor registered?); the labels are not set');
      return;
    }
    const merged = checkLabels(labels, 'setLabels', warnOnce, root.customLabels);
    if (merged !== root.customLabels) root.customLabels = merged;
  } catch (err) {
    logger.debug('setLabels failed', err);
  }
}
