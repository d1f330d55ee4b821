import { logger } from '../diag';
import { codes, ExportResultCode, integerOption, message, warnOption } from '@spanprof/exporter-base';
import type { ProfileBatch, ProfileExporter } from '@spanprof/exporter-base';
import { ProfilerSession } from '../ProfilerSession';

/** Options of the on-demand profiling endpoints (Go `net/http/pprof` style). */
export interface DebugPprofOptions<Req = unknown> {
  /** Path prefix of the endpoints. Default `/debug/pprof`. */
  prefix?: string;
  /**
   * Decides whether a request may profile. Default: only requests from a
   * loopback address (127.0.0.0/8, ::1). A throw or rejection refuses.
   */
  authorize?: (req: Req) => boolean | Promise<boolean>;
  /** Longest capture; a longer `seconds` is cut to it. Default 60. */
  maxSeconds?: number;
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
/** One capture at a time per process, whichever integration serves it. */
const CAPTURE_BUSY = Symbol.for('@spanprof/core.captureBusy');
type GlobalWithCapture = typeof globalThis & { [CAPTURE_BUSY]?: boolean };

/** A loopback address: 127.0.0.0/8 (also IPv4-mapped) or ::1. */
function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
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
  private readonly authorize: (req: Req) => boolean | Promise<boolean>;
  private readonly maxSeconds: number;

  constructor(
    options: DebugPprofOptions<Req>,
    /** The client's address, for the default (loopback only) authorization. */
    private readonly remoteAddress: (req: Req) => string | undefined,
  ) {
    let prefix = typeof options.prefix === 'string' && options.prefix.startsWith('/') ? options.prefix : '/debug/pprof';
    if (options.prefix !== undefined && prefix !== options.prefix) warnOption('pprof.prefix', options.prefix, 'a path starting with "/"', prefix, logger);
    prefix = prefix.replace(/\/+$/, '');
    this.prefix = prefix;
    if (options.authorize !== undefined && typeof options.authorize !== 'function') {
      warnOption('pprof.authorize', options.authorize, 'a function (req) => boolean', 'loopback clients only', logger);
    }
    this.authorize = typeof options.authorize === 'function' ? options.authorize : (req) => isLoopback(this.remoteAddress(req));
    this.maxSeconds = integerOption('pprof.maxSeconds', options.maxSeconds, DEFAULT_MAX_SECONDS, 1, 3600, logger, 'default');
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
        allowed = (await this.authorize(req)) === true;
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
    global[CAPTURE_BUSY] = true;
    try {
      const batch = await captureFor(seconds * 1000);
      const wall = batch?.profiles.find((p) => p.kind === 'wall');
      if (wall === undefined) return text(503, 'the profiler could not capture a profile (see the OpenTelemetry diag log)');
      return pprofFile('profile.pb.gz', wall.encoded, { 'x-spanprof-seconds': String(seconds) });
    } finally {
      global[CAPTURE_BUSY] = false;
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
