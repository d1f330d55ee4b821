import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { logger } from '../diag';
import { codes, ExportResultCode, integerOption, message, warnConfig, warnOption } from '@spanprof/exporter-base';
import type { ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';
import { ProfilerSession } from '../ProfilerSession';

/** Options of the on-demand profiling endpoints (Go `net/http/pprof` style). */
export interface DebugPprofOptions<Req = unknown> {
  /** Path prefix of the endpoints. Default `/debug/pprof`. */
  prefix?: string;
  /**
   * Decides whether a request may profile. Default: only requests from 127.0.0.1 or ::1 that carry
   * none of the headers proxies add (`Forwarded`, `Via`, `X-Forwarded-*`, `X-Real-IP`, `X-Envoy-*`,
   * ...), or, with `token`, requests that carry it. A proxy that adds none of them cannot be told
   * from a local client: behind one, set `token`. A throw or rejection refuses.
   */
  authorize?: (req: Req) => boolean | Promise<boolean>;
  /**
   * A secret a request must carry as `Authorization: Bearer <token>` (at least 16 characters),
   * from any address: for endpoints reached through a proxy. Checked before `authorize`, which
   * then also decides. Default none.
   */
  token?: string;
  /** Longest capture; a longer `seconds` is cut to it. Default 60. */
  maxSeconds?: number;
  /**
   * Least time between the end of one capture and the start of the next, in seconds; sooner is
   * answered 429 with `Retry-After`. Each capture hands the exporters two batches, so this bounds
   * how fast captures fill the `FileExporter`'s `maxFiles`. Default 60; 0 to 3600.
   */
  minIntervalSeconds?: number;
}

/** What the default authorization reads of a request: Node's own request object under every framework. */
export interface DebugPprofClient {
  socket?: { remoteAddress?: string } | null;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** What an endpoint answers; each framework sends it its own way. */
export interface DebugPprofResponse {
  status: number;
  headers: Record<string, string>;
  /** Text for messages, the gzipped pprof bytes for profiles. */
  body: Buffer | string;
}

/** The endpoint a path names, relative to the prefix. */
export type DebugPprofEndpoint = 'index' | 'profile' | 'heap';

/** Go's default `seconds` for `/debug/pprof/profile`. */
const DEFAULT_SECONDS = 30;
const DEFAULT_MAX_SECONDS = 60;
const DEFAULT_MIN_INTERVAL_SECONDS = 60;
/** Shortest token accepted. */
const MIN_TOKEN_LENGTH = 16;
/** One capture at a time per process, whichever integration serves it; and when the last one ended. */
const CAPTURE_BUSY = Symbol.for('@spanprof/core.captureBusy');
const CAPTURE_ENDED = Symbol.for('@spanprof/core.captureEnded');
type GlobalWithCapture = typeof globalThis & { [CAPTURE_BUSY]?: boolean; [CAPTURE_ENDED]?: number };
/**
 * Headers proxies add to what they forward (nginx, HAProxy, Envoy and Istio, CDNs): a request with
 * one came from elsewhere, whatever its socket says. A proxy that adds none cannot be told apart:
 * behind one, set a token.
 */
const FORWARDING_HEADERS = [
  'forwarded',
  'via',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-client-cert',
  'x-original-forwarded-for',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
];

/**
 * The loopback address a client on this machine connects from: 127.0.0.1 (also IPv4-mapped) or
 * ::1. Not the rest of 127.0.0.0/8: a service mesh's sidecar forwards from there (Istio: 127.0.0.6).
 */
function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::ffff:127.0.0.1' || address === '::1';
}

/** A request from this machine that no proxy forwarded. */
function isLocalUnforwarded(client: DebugPprofClient | undefined): boolean {
  if (client === undefined || !isLoopback(client.socket?.remoteAddress ?? undefined)) return false;
  if (FORWARDING_HEADERS.some((name) => client.headers[name] !== undefined)) return false;
  // Envoy's own (x-envoy-external-address, x-envoy-original-path, ...).
  return !Object.keys(client.headers).some((name) => name.startsWith('x-envoy-'));
}

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
function carriesToken(client: DebugPprofClient | undefined, token: Buffer): boolean {
  const header = client?.headers.authorization;
  if (typeof header !== 'string' || !/^bearer /i.test(header)) return false;
  const given = createHash('sha256').update(header.slice('bearer '.length).trim()).digest();
  return timingSafeEqual(given, token);
}

function text(status: number, body: string, headers: Record<string, string> = {}): DebugPprofResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body: `${body}\n` };
}

function pprofFile(name: string, body: Uint8Array, headers: Record<string, string> = {}): DebugPprofResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${name}"`, ...headers },
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  };
}

/**
 * `GET <prefix>/profile?seconds=N` (wall and CPU time, span-labelled, gzipped
 * pprof as `go tool pprof` reads it) and `GET <prefix>/heap`; `<prefix>/` lists
 * them. Shared by the framework integrations, which route to `handle`.
 */
export class DebugPprofEndpoints<Req> {
  readonly prefix: string;
  private readonly authorize: ((req: Req) => boolean | Promise<boolean>) | undefined;
  /** The token's SHA-256 (compared in constant time whatever the length given). */
  private readonly token: Buffer | undefined;
  private readonly maxSeconds: number;
  private readonly minIntervalMillis: number;

  constructor(
    options: DebugPprofOptions<Req>,
    /** Node's request object of `req`, for the default authorization and the token. */
    private readonly client: (req: Req) => DebugPprofClient | undefined,
  ) {
    let prefix = typeof options.prefix === 'string' && options.prefix.startsWith('/') ? options.prefix : '/debug/pprof';
    if (options.prefix !== undefined && prefix !== options.prefix) warnOption('pprof.prefix', options.prefix, 'a path starting with "/"', prefix, logger);
    prefix = prefix.replace(/\/+$/, '');
    this.prefix = prefix;
    if (options.authorize !== undefined && typeof options.authorize !== 'function') {
      warnOption('pprof.authorize', options.authorize, 'a function (req) => boolean', 'loopback clients only', logger);
    }
    this.authorize = typeof options.authorize === 'function' ? options.authorize : undefined;
    if (options.token !== undefined) {
      if (typeof options.token === 'string' && options.token.length >= MIN_TOKEN_LENGTH) {
        this.token = createHash('sha256').update(options.token).digest();
      } else {
        // Said without a logger: the endpoints then answer 403 to everyone, which looks like a bug.
        const text = `option pprof.token: expected a string of at least ${MIN_TOKEN_LENGTH} characters; every request is refused`;
        warnConfig(text, logger);
        this.token = Buffer.alloc(0);
      }
    }
    this.maxSeconds = integerOption('pprof.maxSeconds', options.maxSeconds, DEFAULT_MAX_SECONDS, 1, 3600, logger, 'default');
    this.minIntervalMillis =
      integerOption('pprof.minIntervalSeconds', options.minIntervalSeconds, DEFAULT_MIN_INTERVAL_SECONDS, 0, 3600, logger, 'default') * 1000;
  }

  /** The token when there is one, then `authorize` when given, else a local request no proxy forwarded. */
  private async allowed(req: Req): Promise<boolean> {
    if (this.token !== undefined) {
      if (this.token.length === 0 || !carriesToken(this.client(req), this.token)) return false;
      return this.authorize === undefined || (await this.authorize(req)) === true;
    }
    if (this.authorize !== undefined) return (await this.authorize(req)) === true;
    return isLocalUnforwarded(this.client(req));
  }

  /** Which endpoint `path` (without query) names, if any. */
  match(path: string): DebugPprofEndpoint | undefined {
    if (!path.startsWith(this.prefix)) return undefined;
    const rest = path.slice(this.prefix.length);
    if (rest === '' || rest === '/') return 'index';
    if (rest === '/profile') return 'profile';
    if (rest === '/heap') return 'heap';
    return undefined;
  }

  /** Answers one request; never throws. `seconds` is the raw query value. */
  async handle(endpoint: DebugPprofEndpoint, req: Req, seconds: unknown): Promise<DebugPprofResponse> {
    try {
      let allowed = false;
      try {
        allowed = await this.allowed(req);
      } catch (err) {
        logger.warn(message(codes.INVALID_OPTION, `pprof.authorize threw (${String(err)}); the request is refused`));
      }
      if (!allowed) return text(403, 'forbidden');
      switch (endpoint) {
        case 'index':
          return text(
            200,
            [
              'spanprof on-demand profiles:',
              `${this.prefix}/profile?seconds=N  wall and CPU time for N seconds (default ${Math.min(DEFAULT_SECONDS, this.maxSeconds)}, at most ${this.maxSeconds}), span-labelled pprof`,
              `${this.prefix}/heap               heap in use (V8 allocation sampling), pprof`,
            ].join('\n'),
          );
        case 'heap':
          return await this.heap();
        case 'profile':
          return await this.profile(seconds);
      }
    } catch (err) {
      logger.debug('debug pprof endpoint failed', err);
      return text(500, 'profiling failed');
    }
  }

  private async heap(): Promise<DebugPprofResponse> {
    const session = ProfilerSession.running();
    const encoded = await session?.heapSnapshot();
    if (encoded === undefined) return text(503, 'the heap profiler is not running (no spanprof profiler, or heap: false)');
    return pprofFile('heap.pb.gz', encoded);
  }

  private async profile(raw: unknown): Promise<DebugPprofResponse> {
    let seconds = Math.min(DEFAULT_SECONDS, this.maxSeconds);
    if (raw !== undefined && raw !== '') {
      const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(value) || value < 1) return text(400, `seconds: expected a positive integer (at most ${this.maxSeconds})`);
      seconds = Math.min(value, this.maxSeconds);
    }
    const global = globalThis as GlobalWithCapture;
    if (global[CAPTURE_BUSY] === true) return text(409, 'a profile is being captured already; try again when it is done');
    const wait = (global[CAPTURE_ENDED] ?? -Infinity) + this.minIntervalMillis - performance.now();
    if (wait > 0) {
      const after = Math.ceil(wait / 1000);
      return text(429, `the last capture ended less than ${this.minIntervalMillis / 1000} s ago (pprof.minIntervalSeconds); try again in ${after} s`, {
        'retry-after': String(after),
      });
    }
    global[CAPTURE_BUSY] = true;
    try {
      const batch = await captureFor(seconds * 1000);
      const wall = batch?.profiles.find((p) => p.kind === 'wall');
      if (wall === undefined) return text(503, 'the profiler could not capture a profile (see the OpenTelemetry diag log)');
      return pprofFile('profile.pb.gz', wall.encoded, { 'x-spanprof-seconds': String(seconds) });
    } finally {
      global[CAPTURE_BUSY] = false;
      global[CAPTURE_ENDED] = performance.now();
    }
  }
}

/**
 * A capture of `millis`: from the running session (its exporters get the batch
 * too), or from a session started for it alone when none runs.
 */
async function captureFor(millis: number): Promise<ProfileBatch | undefined> {
  const running = ProfilerSession.running();
  if (running !== undefined) return running.capture(millis);
  let captured: ProfileBatch | undefined;
  const sink: ProfileExporter = {
    export(batch) {
      captured = batch;
      return Promise.resolve({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
  };
  const session = new ProfilerSession({ exporter: sink, heap: false, uploadPeriodMillis: millis + 60_000 });
  if (!session.start()) return undefined;
  await new Promise<void>((resolve) => setTimeout(resolve, millis).unref());
  await session.shutdown();
  return captured;
}
