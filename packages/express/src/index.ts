import { diag } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DebugPprofEndpoints, RequestLabeler } from '@spanprof/core/framework';
import type { CustomLabelValues, DebugPprofOptions, DebugPprofResponse } from '@spanprof/core/framework';

const logger = diag.createComponentLogger({ namespace: '@spanprof/express' });

export interface SpanprofExpressOptions {
  /**
   * Extra sample labels for every sample of the request, e.g.
   * `(req) => ({ tenant: req.get('x-tenant') })`. At most 8 labels; names of
   * letters, digits, `_ . -`; values cut to 128 characters. A throw is logged
   * once and the request goes on without them.
   */
  labels?: (req: Request) => CustomLabelValues | undefined;
  /** Label samples with the route template (`GET /users/:id`). Default true. */
  endpoint?: boolean;
  /**
   * On-demand profiles at `/debug/pprof/profile?seconds=N` and
   * `/debug/pprof/heap` (relative to where the middleware is mounted). Off by
   * default; `true` allows loopback clients only; give `authorize` to decide.
   */
  pprof?: boolean | DebugPprofOptions<Request>;
}

/** `GET /users/:id` for a request routed by `/users` → `/:id`; undefined when no route matched. */
function routeTemplate(req: Request): unknown {
  const route = (req as unknown as { route?: { path?: unknown } | null }).route;
  if (route === undefined || route === null) return undefined;
  const path = route.path;
  if (typeof path !== 'string') return path;
  const base = typeof req.baseUrl === 'string' ? req.baseUrl : '';
  if (base === '') return path;
  return path === '/' ? base : `${base}${path}`;
}

function send(res: Response, answer: DebugPprofResponse): void {
  if (res.headersSent) return;
  res.status(answer.status);
  res.set(answer.headers);
  res.end(answer.body);
}

/**
 * spanprof's Express middleware: `app.use(spanprof())`, before the routes.
 * Needs a running spanprof profiler (`ProfilingSpanProcessor` in the SDK, or
 * `--require @spanprof/auto/register`) and HTTP tracing; it adds to the
 * request's samples the route template as `trace_endpoint` (also without the
 * Express instrumentation, never the raw URL) and the custom labels.
 */
export function spanprof(options: SpanprofExpressOptions = {}): RequestHandler {
  const labeler = new RequestLabeler<Request>('@spanprof/express', options.labels);
  const withEndpoint = options.endpoint !== false;
  const pprof = options.pprof;
  const debug = pprof === undefined || pprof === false ? undefined : new DebugPprofEndpoints<Request>(pprof === true ? {} : pprof, (req) => req);
  return function spanprofMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (debug !== undefined && req.method === 'GET') {
      const endpoint = debug.match(req.path);
      if (endpoint !== undefined) {
        const all = new URL(req.originalUrl ?? req.url, 'http://localhost').searchParams.getAll('seconds');
        // A repeated `seconds` is refused (400), not silently replaced by the default.
        const seconds = all.length > 1 ? all : all[0];
        void debug.handle(endpoint, req, seconds).then(
          (answer) => send(res, answer),
          (err: unknown) => next(err),
        );
        return;
      }
    }
    try {
      const root = labeler.begin(req);
      // The route is known once Express has routed the request; labels are built
      // at collection, so the samples taken before still get it.
      if (root !== undefined && withEndpoint) res.once('close', () => labeler.route(root, req.method, routeTemplate(req)));
    } catch (err) {
      logger.debug('request labelling failed', err);
    }
    next();
  };
}

export type { CustomLabelValues, DebugPprofOptions } from '@spanprof/core/framework';
