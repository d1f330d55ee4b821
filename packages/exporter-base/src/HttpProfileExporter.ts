import * as http from 'node:http';
import * as https from 'node:https';
import { logger } from './diag';
import { withTracingSuppressed } from './suppress';
import { codes, message } from './errors';
import { MAX_TIMER_MILLIS } from './env';
import { integerOption } from './options';
import { warnConfig } from './configWarning';
import { Outage } from './outage';
import { ExportResultCode } from './types';
import type { ExportResult, ExporterRecipe, KnownExporter, ProfileBatch, ProfileExporter } from './types';

/** Sending behaviour shared by every HTTP exporter; all optional. A wrong value is warned about (`SPANPROF_W001`) and defaulted or clamped. */
export interface HttpExporterOptions {
  /** Time allowed for one HTTP request, in milliseconds; also the deadline of `shutdown()`. Default 10000; 1 to 2147483647. */
  timeoutMillis?: number;
  /** Attempts per request, the first included (network errors, 5xx and 429 are retried). Default 5; 1 to 100. */
  maxAttempts?: number;
  /** Delay before the first retry, in milliseconds; doubled at each retry, with jitter. Default 1000; 1 to 2147483647. */
  initialBackoffMillis?: number;
  /** Longest delay between two attempts (also caps `Retry-After`), in milliseconds. Default 30000; 1 to 2147483647. */
  maxBackoffMillis?: number;
  /** Requests (one per profile or per batch, by backend) waiting behind the one in flight; past it the oldest waiting is dropped. Default 8; 1 to 100000. */
  maxQueuedRequests?: number;
}

/** One HTTP request an exporter wants sent. */
export interface HttpRequestSpec {
  url: URL;
  headers: Record<string, string>;
  body: Uint8Array | FormData;
  /** What it carries, for logs (`wall profile of batch 3`). */
  what: string;
}

/** Counters of an HTTP exporter, for tests and health checks. */
export interface HttpExporterStats {
  /** Requests the backend accepted. */
  sent: number;
  /** Requests given up: non-retryable answers, attempts used up, shutdown deadline. */
  failed: number;
  /** Requests dropped unsent because newer ones filled the queue. */
  dropped: number;
  /** Retries made. */
  retries: number;
  /** Requests waiting or in flight now (at most maxQueuedRequests + 1). */
  queued: number;
}

interface Pending {
  spec: HttpRequestSpec;
  settle: (result: ExportResult) => void;
  settled: boolean;
}

const DEFAULTS = {
  timeoutMillis: 10_000,
  maxAttempts: 5,
  initialBackoffMillis: 1_000,
  maxBackoffMillis: 30_000,
  maxQueuedRequests: 8,
};

/**
 * The headers a request can carry: a name or value node:http would refuse is
 * dropped with a warning naming the header (never its value: headers carry secrets).
 */
export function validHeaders(owner: string, headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    try {
      if (typeof value !== 'string') throw new Error('not a string');
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
      out[name] = value;
    } catch {
      warnConfig(`${owner} header ${JSON.stringify(name.slice(0, 60))}: not a valid HTTP header name and string value; left out`);
    }
  }
  return out;
}

/**
 * The sending half of every HTTP profile exporter: a bounded queue of requests
 * sent one at a time, in order, each with a timeout; network errors, 5xx and 429
 * retried with jittered exponential backoff (`Retry-After` honoured up to
 * `maxBackoffMillis`); other 4xx given up at once, warned once per status with
 * the first line of the answer. When the queue is full the oldest request is
 * dropped and counted. Nothing here throws into the caller; URLs are logged
 * without credentials and headers never are.
 *
 * Subclasses turn a batch into requests (`requestsFor`).
 */
export abstract class HttpProfileExporter implements ProfileExporter {
  /** The session sends every batch here and leaves the bounding to this queue. */
  readonly boundsOwnQueue = true;
  protected readonly timeoutMillis: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMillis: number;
  private readonly maxBackoffMillis: number;
  private readonly maxQueuedRequests: number;
  private readonly queue: Pending[] = [];
  private readonly encoding = new Set<Promise<HttpRequestSpec[] | undefined>>();
  private lastEncode: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<void> | undefined;
  /** The exports not settled yet: each fails at the shutdown deadline if it has not by then. */
  private readonly unsettled = new Set<(result?: ExportResult) => void>();
  /** Failures and drops are warned once per outage (until a request gets through), then counted. */
  private readonly failures = new Outage(codes.EXPORT_FAILED, logger);
  private readonly drops = new Outage(codes.EXPORT_DROPPED, logger);
  private sending = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: (() => void) | undefined;
  private stopped = false;
  /** Past the shutdown deadline: nothing more is sent. */
  private closed = false;
  private readonly warnedStatuses = new Set<number>();
  private readonly counters = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  private current: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;

  /** The constructor options as JSON (functions left out), for `recipe`; undefined when they are not JSON. */
  private readonly jsonOptions: unknown;

  /** `name` appears in every log line (`OTLPProfileExporter`). */
  protected constructor(
    protected readonly name: string,
    options: HttpExporterOptions = {},
  ) {
    try {
      this.jsonOptions = JSON.parse(JSON.stringify(options)) as unknown;
    } catch {
      this.jsonOptions = undefined;
    }
    this.timeoutMillis = integerOption(`${name}.timeoutMillis`, options.timeoutMillis, DEFAULTS.timeoutMillis, 1, MAX_TIMER_MILLIS, logger, 'default');
    this.maxAttempts = integerOption(`${name}.maxAttempts`, options.maxAttempts, DEFAULTS.maxAttempts, 1, 100, logger, 'default');
    this.initialBackoffMillis = integerOption(
      `${name}.initialBackoffMillis`,
      options.initialBackoffMillis,
      DEFAULTS.initialBackoffMillis,
      1,
      MAX_TIMER_MILLIS,
      logger,
      'default',
    );
    this.maxBackoffMillis = integerOption(
      `${name}.maxBackoffMillis`,
      options.maxBackoffMillis,
      DEFAULTS.maxBackoffMillis,
      1,
      MAX_TIMER_MILLIS,
      logger,
      'default',
    );
    this.maxQueuedRequests = integerOption(`${name}.maxQueuedRequests`, options.maxQueuedRequests, DEFAULTS.maxQueuedRequests, 1, 100_000, logger, 'default');
  }

  /** Which of spanprof's own exporters this is, for `recipe`; none by default. */
  protected recipeSource(): KnownExporter | undefined {
    return undefined;
  }

  /** This exporter, to be made again in the process that sends the heap profile at out of memory. */
  recipe(): ExporterRecipe | undefined {
    const exporter = this.recipeSource();
    return exporter === undefined || this.jsonOptions === undefined ? undefined : { exporter, options: this.jsonOptions };
  }

  /** The requests that carry `batch` (none to skip it). May throw: the batch then fails. */
  protected abstract requestsFor(batch: ProfileBatch): Promise<HttpRequestSpec[]> | HttpRequestSpec[];

  export(batch: ProfileBatch): Promise<ExportResult> {
    if (this.stopped) return Promise.resolve({ code: ExportResultCode.FAILED, error: new Error(`${this.name} is shut down`) });
    // Encoding runs before the request is queued, one batch after the other so
    // that requests queue in the order of export() calls; shutdown waits for it too.
    const encoded = this.lastEncode.then(() => this.encode(batch));
    // The next batch waits for this one's encoding, not for its requests (nor keeps them).
    this.lastEncode = encoded.then(noop);
    this.encoding.add(encoded);
    void encoded.finally(() => this.encoding.delete(encoded));
    const sequence = batch.sequence;
    return new Promise<ExportResult>((resolve) => {
      // Settled by the requests, or by the shutdown deadline if that comes first; nothing but
      // this set refers to it once it settled (a batch stays reachable only while it is sent).
      const settle = (result?: ExportResult): void => {
        if (!this.unsettled.delete(settle)) return;
        resolve(result ?? { code: ExportResultCode.FAILED, error: new Error(`${this.name}: batch ${sequence} not sent before the shutdown deadline`) });
      };
      this.unsettled.add(settle);
      encoded
        .then((specs) =>
          specs === undefined
            ? { code: ExportResultCode.FAILED, error: new Error(`${this.name} could not encode batch ${sequence}`) }
            : Promise.all(specs.map((spec) => this.enqueue(spec))).then(
                (results) => results.find((r) => r.code !== ExportResultCode.SUCCESS) ?? { code: ExportResultCode.SUCCESS },
              ),
        )
        .then(settle, (err: unknown) => settle({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) }));
      if (this.closed) this.settleUnsent();
    });
  }

  /** At the shutdown deadline: every export not settled yet fails. */
  private settleUnsent(): void {
    for (const settle of [...this.unsettled]) settle();
  }

  private async encode(batch: ProfileBatch): Promise<HttpRequestSpec[] | undefined> {
    try {
      const specs = await withTracingSuppressed(() => this.requestsFor(batch));
      // Forms are serialised once here, not at every attempt.
      return await Promise.all(
        specs.map(async (spec) => {
          if (!(spec.body instanceof FormData)) return spec;
          const { body, contentType } = await multipart(spec.body);
          return { ...spec, body, headers: { ...spec.headers, 'content-type': contentType } };
        }),
      );
    } catch (err) {
      logger.error(message(codes.EXPORT_FAILED, `${this.name} could not encode batch ${batch.sequence}: ${errorText(err)}`));
      return undefined;
    }
  }

  /** Resolves when every batch handed over so far has been sent or given up. */
  async forceFlush(): Promise<void> {
    while (this.encoding.size > 0 || this.sending) {
      await Promise.all([...this.encoding]);
      await this.idle;
    }
  }

  /**
   * Sends what is queued within `timeoutMillis`; what is still unsent then fails
   * (a retry wait is cut short and retried at once, a request in flight is aborted).
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    this.stopped = true;
    // Retry waits end now: one last attempt each, inside the deadline.
    this.wakeRetry?.();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMillis);
      timer.unref();
    });
    await Promise.race([this.forceFlush(), deadline]);
    clearTimeout(timer);
    this.closed = true;
    this.settleUnsent();
    if (this.queue.length > 0) {
      this.current?.abort(new Error('shutdown deadline'));
      for (const pending of this.queue.splice(0)) this.settle(pending, 'failed', `${pending.spec.what}: not sent before the shutdown deadline`);
    }
  }

  stats(): Readonly<HttpExporterStats> {
    return { ...this.counters, queued: this.queue.length };
  }

  private enqueue(spec: HttpRequestSpec): Promise<ExportResult> {
    return new Promise<ExportResult>((resolve) => {
      const pending: Pending = { spec, settle: resolve, settled: false };
      if (this.closed) {
        this.settle(pending, 'failed', `${spec.what}: encoded after the shutdown deadline`);
        return;
      }
      // queue[0] is the request in flight while sending: it is never the one dropped.
      const inFlight = this.sending ? 1 : 0;
      if (this.queue.length - inFlight >= this.maxQueuedRequests) {
        const [oldest] = this.queue.splice(inFlight, 1);
        if (oldest !== undefined) {
          this.settle(oldest, 'dropped', `${oldest.spec.what}: dropped, ${this.maxQueuedRequests} newer requests wait (maxQueuedRequests)`);
        }
      }
      this.queue.push(pending);
      if (!this.sending) this.startSending();
    });
  }

  private startSending(): void {
    this.sending = true;
    this.idle = new Promise<void>((resolve) => {
      this.markIdle = resolve;
    });
    void withTracingSuppressed(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const pending = this.queue[0];
        await this.deliver(pending);
        if (this.queue[0] === pending) this.queue.shift();
      }
    } catch (err) {
      // deliver() catches everything; this is the last guard of a background loop.
      logger.error(message(codes.EXPORT_FAILED, `${this.name} send loop failed: ${errorText(err)}`));
      for (const pending of this.queue.splice(0)) this.settle(pending, 'failed', `${pending.spec.what}: send loop failed`);
    } finally {
      this.sending = false;
      // Caught up (the queue drained): a drop outage, if any, is over. Room for one more request
      // alone is not the end of it, or a slow backend would be warned about every other batch.
      this.drops.recover(`${this.name}: caught up, the queue drained`);
      this.markIdle?.();
    }
  }

  private async deliver(pending: Pending): Promise<void> {
    const { spec } = pending;
    for (let attempt = 1; ; attempt++) {
      if (pending.settled) return;
      const outcome = await this.attempt(spec);
      if (pending.settled) return;
      if (outcome.kind === 'ok') {
        this.settle(pending, 'sent');
        return;
      }
      if (outcome.kind === 'reject') {
        // Each status is warned about once, with the answer's first line, even within an outage.
        const firstOfStatus = !this.warnedStatuses.has(outcome.status);
        this.warnedStatuses.add(outcome.status);
        const answer = `${redactUrl(spec.url)} answered ${outcome.status}${outcome.firstLine ? `: ${outcome.firstLine}` : ''}; not retried`;
        this.settle(pending, 'failed', `${spec.what}: ${answer}`, firstOfStatus);
        return;
      }
      if (attempt >= this.maxAttempts || this.stopped) {
        this.settle(pending, 'failed', `${spec.what}: ${outcome.reason}; ${attempt} attempt${attempt > 1 ? 's' : ''} made`);
        return;
      }
      this.counters.retries++;
      logger.debug(`${this.name}: ${spec.what}: ${outcome.reason}; retry ${attempt} of ${this.maxAttempts - 1}`);
      await this.wait(this.backoff(attempt, outcome.retryAfterMillis));
    }
  }

  private backoff(attempt: number, retryAfterMillis: number | undefined): number {
    return backoffMillis(attempt, this.initialBackoffMillis, this.maxBackoffMillis, retryAfterMillis);
  }

  private wait(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.wakeRetry = undefined;
        resolve();
      };
      this.wakeRetry = done;
      this.retryTimer = setTimeout(done, ms);
      this.retryTimer.unref();
    });
  }

  private async attempt(spec: HttpRequestSpec): Promise<AttemptOutcome> {
    const controller = new AbortController();
    this.current = controller;
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${this.timeoutMillis} ms`)), this.timeoutMillis);
    timer.unref();
    try {
      const response = await post(spec.url, spec.headers, spec.body as Uint8Array, controller.signal);
      const status = response.status;
      if (status >= 200 && status < 300) return { kind: 'ok' };
      const firstLine = response.text.split('\n', 1)[0].trim().slice(0, 200);
      if (status === 429 || status >= 500) {
        return { kind: 'retry', reason: `HTTP ${status}`, retryAfterMillis: parseRetryAfter(response.retryAfter) };
      }
      return { kind: 'reject', status, firstLine };
    } catch (err) {
      const why = controller.signal.aborted ? String((controller.signal.reason as Error | undefined)?.message ?? 'aborted') : networkErrorText(err);
      const reason = `${redactUrl(spec.url)}: ${why}`;
      return { kind: 'retry', reason, retryAfterMillis: undefined };
    } finally {
      clearTimeout(timer);
      if (this.current === controller) this.current = undefined;
    }
  }

  /** `newKind`: a kind of failure not seen before (a new HTTP status), warned about even within an outage. */
  private settle(pending: Pending, how: 'sent' | 'failed' | 'dropped', reason?: string, newKind = false): void {
    if (pending.settled) return;
    pending.settled = true;
    if (how === 'sent') {
      this.counters.sent++;
      this.failures.recover(`${this.name}: requests get through`);
      pending.settle({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.counters[how]++;
    const error = new Error(`${this.name}: ${reason ?? how}`);
    if (how === 'dropped') {
      this.drops.fail(error.message, `${this.name} stats().dropped`);
    } else if (!this.failures.fail(error.message, `${this.name} stats().failed`) && newKind) {
      logger.warn(message(codes.EXPORT_FAILED, error.message));
    }
    pending.settle({ code: ExportResultCode.FAILED, error });
  }
}

function noop(): void {}

type AttemptOutcome =
  { kind: 'ok' } | { kind: 'retry'; reason: string; retryAfterMillis: number | undefined } | { kind: 'reject'; status: number; firstLine: string };

/**
 * One POST with node:http(s), called in the exporter's suppressed context (the
 * HTTP instrumentation honours it at the call; fetch's pooled dispatch may not).
 * Default agents: their idle keep-alive sockets are unref'd.
 */
function post(
  url: URL,
  headers: Record<string, string>,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<{ status: number; retryAfter: string | null; text: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(body.byteLength) }, signal },
      (res) => {
        // Only the start of an answer is kept: it only ever feeds a log line.
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < 4096) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
            text: Buffer.concat(chunks).toString('utf8').slice(0, 4096),
          });
        });
        res.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** A form as multipart/form-data bytes and its content type (boundary included), serialised by the runtime's own encoder. */
async function multipart(form: FormData): Promise<{ body: Uint8Array; contentType: string }> {
  const encoded = new Response(form);
  return { body: new Uint8Array(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type') ?? 'multipart/form-data' };
}

/**
 * The wait before retry `attempt` (1 for the first): the server's Retry-After
 * when it gave one, else jittered exponential backoff, a random point in the
 * upper half of `initial` doubled at each attempt; never more than `max`.
 */
export function backoffMillis(attempt: number, initial: number, max: number, retryAfterMillis?: number, random: () => number = Math.random): number {
  if (retryAfterMillis !== undefined) return Math.min(retryAfterMillis, max);
  const ceiling = Math.min(initial * 2 ** (attempt - 1), max);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Otherwise only an HTTP date (IMF-fixdate ends in GMT); "1.5" or "-1" are not dates.
  if (!/GMT$/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The warning for a URL option or variable that is not an http(s) URL: `<from>: expected an http://
 * or https:// URL; using <used>`, with the likely fix when the value lacks a scheme
 * (`collector:4318`). Never shows credentials or a query.
 */
export function urlProblem(from: string, value: string, used: string): string {
  let hint = '';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const guess = new URL(`http://${value}`);
      if (guess.hostname !== '') hint = ` (it has no scheme: did you mean ${redactUrl(guess).replace(/\/$/, '')}?)`;
    } catch {
      // No likely fix to offer.
    }
  }
  return `${from}: expected an http:// or https:// URL${hint}; using ${used}`;
}

/** A URL safe to log: no user name, password or query string (which may carry tokens). */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** A socket error's code (ECONNREFUSED, ECONNRESET, ...), never the URL or headers. */
function networkErrorText(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return `network error ${code}`;
  return `network error: ${errorText(err)}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
