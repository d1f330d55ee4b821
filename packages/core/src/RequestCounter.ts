import type { LocalRoot } from './labels';

/**
 * Ended requests held back before their endpoint is read: a generation of this
 * many, then the one before it is counted. At most twice this many are held.
 */
export const REQUEST_GENERATION = 4096;
/** Distinct endpoints counted per period; further ones are summed under `(other)`. */
export const MAX_REQUEST_ENDPOINTS = 1000;
/** The endpoint that sums what a bound left out. */
export const OTHER_ENDPOINT = '(other)';

/**
 * Counts the requests (local root spans) that end in each collection period, by
 * endpoint. The endpoint is not read when the root ends: a framework integration
 * may set the route template just after (Express does at the response's `close`,
 * which ends the span first). Ended roots are held in two generations of
 * REQUEST_GENERATION; when the newer fills, the older is counted, each root
 * then at least that many request ends after its own; the rest at collection.
 * So the memory held is bounded (a root is about 170 bytes) whatever the
 * request rate, and nothing is lost. Ending a request costs one array push.
 */
export class RequestCounter {
  private newer: LocalRoot[] = [];
  private older: LocalRoot[] = [];
  private counts = new Map<string, number>();
  /** The last root counted: a second processor on the same provider reports the same root right after. */
  private last: LocalRoot | undefined;

  /** A request ended: its local root span ended. */
  ended(root: LocalRoot): void {
    if (root === this.last) return;
    this.last = root;
    this.newer.push(root);
    if (this.newer.length >= REQUEST_GENERATION) {
      const spent = this.older;
      this.countAll(spent);
      // The arrays swap roles: nothing is allocated.
      this.older = this.newer;
      this.newer = spent;
    }
  }

  /** The counts of the period that ends now, by endpoint; the next period starts from zero. */
  take(): Readonly<Record<string, number>> {
    this.countAll(this.older);
    this.countAll(this.newer);
    this.last = undefined;
    const counts = this.counts;
    this.counts = new Map();
    // fromEntries defines own properties: an endpoint named `__proto__` stays a count.
    return Object.freeze(Object.fromEntries(counts));
  }

  /** Counts the roots under their endpoints now, and empties the array. */
  private countAll(roots: LocalRoot[]): void {
    const counts = this.counts;
    for (let i = 0; i < roots.length; i++) {
      const endpoint = roots[i].endpoint;
      // No endpoint, no trace_endpoint label on its samples either: nothing to divide.
      if (endpoint === '') continue;
      const key = counts.has(endpoint) || counts.size < MAX_REQUEST_ENDPOINTS ? endpoint : OTHER_ENDPOINT;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    roots.length = 0;
  }
}
