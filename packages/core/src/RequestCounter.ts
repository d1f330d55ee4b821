import type { LocalRoot } from './labels';

/** Distinct endpoints counted per period; further ones are summed under `(other)`. */
export const MAX_REQUEST_ENDPOINTS = 1000;
/** The endpoint that sums what a bound left out. */
export const OTHER_ENDPOINT = '(other)';

/**
 * Counts the requests (local root spans) that end in each collection period, by
 * endpoint. A request is counted when its root span ends, under the endpoint it
 * has then; a framework integration may set the route template just after
 * (Express does at the response's `close`, which ends the span first), and the
 * root then moves its count to the new endpoint, if its period was not
 * collected meanwhile. No request is held after its end: a counter that kept
 * ended roots until collection made them survive young-generation GCs, which
 * cost more than everything else spanprof does per request.
 */
export class RequestCounter {
  private counts = new Map<string, number>();
  private period = 0;

  /** A request ended: its local root span ended. A root is counted once, whoever reports it. */
  ended(root: LocalRoot): void {
    if (root.counter !== undefined) return;
    root.counter = this;
    root.countedPeriod = this.period;
    root.countedAs = this.add(root.endpoint);
  }

  /** A counted root's endpoint changed: its count moves along, within the period it was counted in. */
  moved(root: LocalRoot): void {
    if (root.counter !== this || root.countedPeriod !== this.period) return;
    const before = root.countedAs;
    if (before !== undefined) {
      const left = (this.counts.get(before) ?? 0) - 1;
      if (left > 0) this.counts.set(before, left);
      else this.counts.delete(before);
    }
    root.countedAs = this.add(root.endpoint);
  }

  /** The counts of the period that ends now, by endpoint; the next period starts from zero. */
  take(): Readonly<Record<string, number>> {
    const counts = this.counts;
    this.counts = new Map();
    this.period++;
    // fromEntries defines own properties: an endpoint named `__proto__` stays a count.
    return Object.freeze(Object.fromEntries(counts));
  }

  /** Counts one request under `endpoint` (or `(other)` past the bound); returns the key counted, if any. */
  private add(endpoint: string): string | undefined {
    // No endpoint, no trace_endpoint label on its samples either: nothing to divide.
    if (endpoint === '') return undefined;
    const counts = this.counts;
    const key = counts.has(endpoint) || counts.size < MAX_REQUEST_ENDPOINTS ? endpoint : OTHER_ENDPOINT;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return key;
  }
}
