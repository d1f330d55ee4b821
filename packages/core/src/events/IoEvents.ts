import { context } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';
import * as diagnosticsChannel from 'node:diagnostics_channel';
import { performance, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import type * as dnsModule from 'node:dns';
import type * as fsModule from 'node:fs';
import type * as httpModule from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type * as netModule from 'node:net';
import type { Socket } from 'node:net';
import { syncBuiltinESMExports } from 'node:module';
import { isTracingSuppressed } from '@spanprof/exporter-base';
import type { EventKind } from '@spanprof/profile';
import { hookFailed } from '../faults';
import { labelsOfContext } from '../labels';
import type { SpanLabels } from '../labels';
import type { EventRecorder } from './EventRecorder';
import { isInstrumented, unwrap, wrap } from './wrap';

/** The sources of I/O and GC events, each on by default. */
export interface EventSources {
  fs: boolean;
  dns: boolean;
  net: boolean;
  http: boolean;
  gc: boolean;
}

/** The asynchronous `fs` functions that take a callback last (streams, watchers and `exists` left out). */
const FS_CALLBACK_FUNCTIONS = [
  'access', 'appendFile', 'chmod', 'chown', 'close', 'copyFile', 'cp', 'fchmod', 'fchown', 'fdatasync', 'fstat', 'fsync', 'ftruncate',
  'futimes', 'lchown', 'link', 'lstat', 'lutimes', 'mkdir', 'mkdtemp', 'open', 'opendir', 'read', 'readdir', 'readFile', 'readlink', 'readv',
  'realpath', 'rename', 'rm', 'rmdir', 'stat', 'statfs', 'symlink', 'truncate', 'unlink', 'utimes', 'write', 'writeFile', 'writev',
]; // prettier-ignore
/** The `fs.promises` functions (a `FileHandle`'s own methods are not among them). */
const FS_PROMISE_FUNCTIONS = [
  'access', 'appendFile', 'chmod', 'chown', 'copyFile', 'cp', 'lchown', 'link', 'lstat', 'lutimes', 'mkdir', 'mkdtemp', 'open', 'opendir',
  'readdir', 'readFile', 'readlink', 'realpath', 'rename', 'rm', 'rmdir', 'stat', 'statfs', 'symlink', 'truncate', 'unlink', 'utimes', 'writeFile',
]; // prettier-ignore

const GC_NAMES = new Map<number, string>([
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'gc.minor'],
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'gc.major'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'gc.incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'gc.weakcb'],
]);

/** Node's own module objects (an `import * as` namespace is a copy whose functions cannot be replaced). */
function builtin<T>(name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name) as T;
}

/**
 * Marks spanprof's own I/O that runs outside any export (reading the source maps): an
 * AsyncLocalStorage of its own, since the OpenTelemetry context manager that would carry a
 * tracing suppression is often registered only after the profiler started.
 */
const OWN_IO = new AsyncLocalStorage<true>();

/** Runs `fn` (and the I/O it starts, to its end) as spanprof's own: it makes no events. */
export function ownIo<T>(fn: () => T): T {
  return OWN_IO.run(true, fn);
}

/** The label data of the span active now; null for I/O that makes no event (an exporter's, spanprof's own). */
function activeSpan(): SpanLabels | undefined | null {
  const active = context.active();
  if (isTracingSuppressed(active) || OWN_IO.getStore() === true) return null;
  return labelsOfContext(active);
}

/**
 * The span, start and resource of an operation about to start; undefined when it makes no event
 * (spanprof's or an exporter's own I/O) or when finding them failed: the operation then runs as
 * if unwrapped, whatever happened here.
 */
function startTiming(args: unknown[], resourceOf: (args: unknown[]) => string): { span: SpanLabels | undefined; start: number; resource: string } | undefined {
  try {
    const span = activeSpan();
    if (span === null) return undefined;
    return { span, start: performance.now(), resource: resourceOf(args) };
  } catch {
    return undefined;
  }
}

/** What an `fs` call is on: its path (a string, a URL or a Buffer), else '' (a file descriptor). */
function pathOf(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg instanceof URL) return arg.pathname;
  if (Buffer.isBuffer(arg)) return arg.toString();
  return '';
}

/**
 * Where I/O waits and GC pauses come from, as events of an `EventRecorder`:
 * - `fs`: the asynchronous functions of `fs` and `fs.promises`, wrapped (callback and promise);
 * - `dns`: `dns.lookup` and `dns.promises.lookup`, wrapped;
 * - `net`: outgoing TCP connects, from the `net.client.socket` diagnostics channel (published in
 *   the caller's context) to the socket's `connect` (or its `close` when it never connected);
 * - `http`: outgoing `http`/`https` requests, from `http.client.request.start` to
 *   `http.client.response.finish` (the response's headers);
 * - `gc`: garbage-collection pauses, from `gc` performance entries.
 * The span of an I/O wait is the one active where it started. Where an OpenTelemetry
 * instrumentation already makes spans for an operation (its wrapper, shimmer's `__wrapped`, is
 * found on `fs`, `dns`, `net` or `http`), that operation makes no event. A fault in a source
 * turns it off (diag) and never reaches the application.
 */
export class IoEvents {
  private readonly patched: [object, string][] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private observer: PerformanceObserver | undefined;

  constructor(
    private readonly recorder: EventRecorder,
    private readonly sources: EventSources,
  ) {}

  start(): void {
    try {
      if (this.sources.fs) this.patchFs();
      if (this.sources.dns) this.patchDns();
      if (this.patched.length > 0) syncBuiltinESMExports();
    } catch (err) {
      hookFailed('fs and dns event source', err, 'fs and dns waits are not recorded as I/O');
    }
    if (this.sources.net) this.subscribeNet();
    if (this.sources.http) this.subscribeHttp();
    if (this.sources.gc) this.observeGc();
  }

  stop(): void {
    for (const [target, name] of this.patched) unwrap(target, name);
    if (this.patched.length > 0) {
      try {
        syncBuiltinESMExports();
      } catch {
        // The ES module bindings keep the wrappers, which call straight through.
      }
    }
    this.patched.length = 0;
    for (const off of this.unsubscribe.splice(0)) off();
    this.observer?.disconnect();
    this.observer = undefined;
  }

  /** Wraps a callback-last function: the event ends when the callback is called. */
  private wrapCallback(target: object, fn: string, kind: EventKind, name: string, resourceOf: (args: unknown[]) => string): void {
    const recorder = this.recorder;
    const ok = wrap(target, fn, (original) => {
      function wrapped(this: unknown, ...args: unknown[]): unknown {
        const last = args.length - 1;
        const callback = args[last];
        // Not ours to time: no callback (a wrong call throws as it would have), or an instrumentation's span around it.
        if (typeof callback !== 'function' || isInstrumented((target as Record<string, unknown>)[fn])) return original.apply(this, args);
        const timing = startTiming(args, resourceOf);
        if (timing === undefined) return original.apply(this, args);
        const { span, start, resource } = timing;
        args[last] = function (this: unknown, ...results: unknown[]): unknown {
          try {
            recorder.ended(kind, name, resource, start, span, results[0] !== null && results[0] !== undefined);
          } catch {
            // Never the application's problem.
          }
          return (callback as (...a: unknown[]) => unknown).apply(this, results);
        };
        return original.apply(this, args);
      }
      return wrapped;
    });
    if (ok) this.patched.push([target, fn]);
  }

  /** Wraps a promise-returning function: the event ends when the promise settles (the caller gets a promise settling the same way). */
  private wrapPromise(target: object, fn: string, kind: EventKind, name: string, resourceOf: (args: unknown[]) => string): void {
    const recorder = this.recorder;
    const ok = wrap(target, fn, (original) => {
      function wrapped(this: unknown, ...args: unknown[]): unknown {
        if (isInstrumented((target as Record<string, unknown>)[fn])) return original.apply(this, args);
        const timing = startTiming(args, resourceOf);
        if (timing === undefined) return original.apply(this, args);
        const { span, start, resource } = timing;
        const result = original.apply(this, args);
        if (!(result instanceof Promise)) return result;
        const done = (error: boolean): void => {
          try {
            recorder.ended(kind, name, resource, start, span, error);
          } catch {
            // Never the application's problem.
          }
        };
        // The caller gets the chained promise: a rejection it leaves unhandled is still reported as such.
        return result.then(
          (value: unknown) => {
            done(false);
            return value;
          },
          (err: unknown) => {
            done(true);
            throw err;
          },
        );
      }
      return wrapped;
    });
    if (ok) this.patched.push([target, fn]);
  }

  private patchFs(): void {
    const fs = builtin<typeof fsModule>('node:fs');
    const firstPath = (args: unknown[]): string => pathOf(args[0]);
    for (const fn of FS_CALLBACK_FUNCTIONS) this.wrapCallback(fs, fn, 'fs', `fs.${fn}`, firstPath);
    for (const fn of FS_PROMISE_FUNCTIONS) this.wrapPromise(fs.promises, fn, 'fs', `fs.promises.${fn}`, firstPath);
  }

  private patchDns(): void {
    const dns = builtin<typeof dnsModule>('node:dns');
    const host = (args: unknown[]): string => (typeof args[0] === 'string' ? args[0] : '');
    this.wrapCallback(dns, 'lookup', 'dns', 'dns.lookup', host);
    this.wrapPromise(dns.promises, 'lookup', 'dns', 'dns.promises.lookup', host);
  }

  private subscribe(channel: string, listener: (message: unknown) => void): void {
    try {
      diagnosticsChannel.subscribe(channel, listener);
      this.unsubscribe.push(() => diagnosticsChannel.unsubscribe(channel, listener));
    } catch (err) {
      hookFailed(`diagnostics channel ${channel}`, err, 'its I/O waits are not recorded');
    }
  }

  private subscribeNet(): void {
    const recorder = this.recorder;
    const net = builtin<typeof netModule>('node:net');
    this.subscribe('net.client.socket', (message) => {
      try {
        // eslint-disable-next-line @typescript-eslint/unbound-method -- read, never called
        if (isInstrumented(net.Socket.prototype.connect)) return;
        const socket = (message as { socket?: Socket }).socket;
        if (socket === undefined) return;
        const span = activeSpan();
        if (span === null) return;
        const start = performance.now();
        // No 'error' listener: one would change what an unhandled socket error does.
        // Listeners on the application's socket: nothing may throw out of them.
        const onConnect = (): void => {
          try {
            socket.removeListener('close', onClose);
            recorder.ended('net', 'net.connect', `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`, start, span, false);
          } catch (err) {
            hookFailed('net event', err, 'a connection wait is not recorded');
          }
        };
        const onClose = (): void => {
          try {
            socket.removeListener('connect', onConnect);
            recorder.ended('net', 'net.connect', '', start, span, true);
          } catch (err) {
            hookFailed('net event', err, 'a connection wait is not recorded');
          }
        };
        socket.once('connect', onConnect);
        socket.once('close', onClose);
      } catch (err) {
        hookFailed('net event', err, 'a connection wait is not recorded');
      }
    });
  }

  private subscribeHttp(): void {
    const recorder = this.recorder;
    const http = builtin<typeof httpModule>('node:http');
    const started = new WeakMap<ClientRequest, { start: number; span: SpanLabels | undefined }>();
    this.subscribe('http.client.request.start', (message) => {
      try {
        // The HTTP instrumentation makes a client span for every request: no event beside it.
        if (isInstrumented(http.request)) return;
        const request = (message as { request?: ClientRequest }).request;
        const span = activeSpan();
        if (request !== undefined && span !== null) started.set(request, { start: performance.now(), span });
      } catch (err) {
        hookFailed('http event', err, 'an HTTP wait is not recorded');
      }
    });
    this.subscribe('http.client.response.finish', (message) => {
      try {
        const { request, response } = message as { request?: ClientRequest; response?: IncomingMessage };
        const known = request === undefined ? undefined : started.get(request);
        if (request === undefined || known === undefined) return;
        started.delete(request);
        const status = response?.statusCode ?? 0;
        const host = request.getHeader('host');
        const resource = `${request.method} ${typeof host === 'string' ? host : request.host}${request.path.split('?')[0]}`;
        recorder.ended('http', 'http.request', resource, known.start, known.span, status >= 500);
      } catch (err) {
        hookFailed('http event', err, 'an HTTP wait is not recorded');
      }
    });
  }

  private observeGc(): void {
    try {
      const recorder = this.recorder;
      this.observer = new PerformanceObserver((list) => {
        try {
          for (const entry of list.getEntries()) {
            const kind = (entry as { detail?: { kind?: number } }).detail?.kind ?? 0;
            recorder.gc(GC_NAMES.get(kind) ?? 'gc', entry.startTime, entry.duration);
          }
        } catch (err) {
          hookFailed('gc event', err, 'a GC pause is not recorded');
        }
      });
      this.observer.observe({ type: 'gc' });
    } catch (err) {
      hookFailed('gc event source', err, 'GC pauses are not recorded');
    }
  }
}
