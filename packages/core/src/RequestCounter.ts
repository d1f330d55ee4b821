import { durationBucket } from '@spanprof/profile';
import type { RequestTimes } from '@spanprof/profile';
import type { LocalRoot } from './labels';

/** Distinct endpoints counted per period; further ones are summed under `(other)`. */
export const MAX_REQUEST_ENDPOINTS = 1000;
/** The endpoint that sums what a bound left out. */
export const OTHER_ENDPOINT = '(other)';

/**
 * Counts the requests (local root spans) that end in each collection period, by
 * endpoint, with their durations (sum and buckets, see `RequestTimes`). A request is counted when its root span ends, under the endpoint it
 * has then; a framework integration may set the route template just after
 * (Express does at the response's `close`, which ends the span first), and the
 * root then moves its count to the new endpoint, if its period was not
 * collected meanwhile. No request is held after its end: a counter that kept
 * ended roots until collection made them survive young-generation GCs, which
 * cost more than everything else spanprof does per request.
 */
export class RequestCounter {
  private counts = new Map<string, number>();
  private times = new Map<string, RequestTimes>();
  private period = 0;

  /** A request ended: its local root span ended, `millis` after it started. A root is counted once, whoever reports it. */
  ended(root: LocalRoot, millis: number): void {
    if (root.counter !== undefined) return;
    root.counter = this;
    root.countedPeriod = this.period;
    root.countedMillis = Number.isFinite(millis) && millis > 0 ? millis : 0;
    root.countedAs = this.add(root.endpoint, root.countedMillis);
  }

  /** A counted root's endpoint changed: its count moves along, within the period it was counted in. */
  moved(root: LocalRoot): void {
    if (root.counter !== this || root.countedPeriod !== this.period) return;
    const before = root.countedAs;
    if (before !== undefined) {
      const left = (this.counts.get(before) ?? 0) - 1;
      const times = this.times.get(before);
      if (left > 0) {
        this.counts.set(before, left);
        if (times !== undefined) {
          times.count--;
          times.sumMillis -= root.countedMillis;
          const bucket = durationBucket(root.countedMillis);
          const inBucket = (times.buckets.get(bucket) ?? 0) - 1;
          if (inBucket > 0) times.buckets.set(bucket, inBucket);
          else times.buckets.delete(bucket);
        }
      } else {
        this.counts.delete(before);
        this.times.delete(before);
      }
    }
    root.countedAs = this.add(root.endpoint, root.countedMillis);
  }

  /** The counts and durations of the period that ends now, by endpoint; the next period starts from zero. */
  take(): { counts: Readonly<Record<string, number>>; times: ReadonlyMap<string, RequestTimes> } {
    const { counts, times } = this;
    this.counts = new Map();
    this.times = new Map();
    this.period++;
    // fromEntries defines own properties: an endpoint named `__proto__` stays a count.
    return { counts: Object.freeze(Object.fromEntries(counts)), times };
  }

  /** Counts one request of `millis` under `endpoint` (or `(other)` past the bound); returns the key counted, if any. */
  private add(endpoint: string, millis: number): string | undefined {
    // No endpoint, no trace_endpoint label on its samples either: nothing to divide.
    if (endpoint === '') return undefined;
    const counts = this.counts;
    const key = counts.has(endpoint) || counts.size < MAX_REQUEST_ENDPOINTS ? endpoint : OTHER_ENDPOINT;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    let times = this.times.get(key);
    if (times === undefined) this.times.set(key, (times = { count: 0, sumMillis: 0, buckets: new Map() }));
    times.count++;
    times.sumMillis += millis;
    const bucket = durationBucket(millis);
    times.buckets.set(bucket, (times.buckets.get(bucket) ?? 0) + 1);
    return key;
  }
}
