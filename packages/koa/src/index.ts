import { diag } from '@opentelemetry/api';
import type { Context, Middleware, Next } from 'koa';
import { DebugPprofEndpoints, RequestLabeler } from '@spanprof/core/framework';
import type { CustomLabelValues, DebugPprofOptions } from '@spanprof/core/framework';

const logger = diag.createComponentLogger({ namespace: '@spanprof/koa' });

export interface SpanprofKoaOptions {
  /**
   * Extra sample labels for every sample of the request, e.g.
   * `(ctx) => ({ tenant: ctx.get('x-tenant') })`. At most 8 labels; names of
   * letters, digits, `_ . -`; values cut to 128 characters. A throw is logged
   * once and the request goes on without them.
   */
  labels?: (ctx: Context) => CustomLabelValues | undefined;
  /** Label samples with the route template @koa/router matched (`GET /users/:id`). Default true. */
  endpoint?: boolean;
  /**
   * On-demand profiles at `/debug/pprof/profile?seconds=N` and
   * `/debug/pprof/heap`. Off by default; `true` allows loopback clients only;
   * give `authorize` to decide.
   */
  pprof?: boolean | DebugPprofOptions<Context>;
}

/** The template @koa/router (or koa-router) matched, prefix included. */
function routeTemplate(ctx: Context): unknown {
  const routed = ctx as Context & { _matchedRoute?: unknown; routerPath?: unknown };
  return routed._matchedRoute ?? routed.routerPath;
}

/**
 * spanprof's Koa middleware: `app.use(spanprof())`, before the router. Needs a
 * running spanprof profiler (`ProfilingSpanProcessor` in the SDK, or
 * `--require @spanprof/auto/register`) and HTTP tracing; it adds to the
 * request's samples the route template as `trace_endpoint` (never the raw URL)
 * and the custom labels.
 */
export function spanprof(options: SpanprofKoaOptions = {}): Middleware {
  const labeler = new RequestLabeler<Context>('@spanprof/koa', options.labels);
  const withEndpoint = options.endpoint !== false;
  const pprof = options.pprof;
  const debug = pprof === undefined || pprof === false ? undefined : new DebugPprofEndpoints<Context>(pprof === true ? {} : pprof, (ctx) => ctx.req);
  return async function spanprofMiddleware(ctx: Context, next: Next): Promise<void> {
    if (debug !== undefined && ctx.method === 'GET') {
      const endpoint = debug.match(ctx.path);
      if (endpoint !== undefined) {
        // Raw: a repeated `seconds` is refused (400), not silently replaced by the default.
        const answer = await debug.handle(endpoint, ctx, ctx.query.seconds);
        ctx.status = answer.status;
        ctx.set(answer.headers);
        ctx.body = answer.body;
        return;
      }
    }
    let root;
    try {
      root = labeler.begin(ctx);
    } catch (err) {
      logger.debug('request labelling failed', err);
    }
    try {
      await next();
    } finally {
      // The router has matched by now; labels are built at collection, so earlier samples get it too.
      if (withEndpoint) labeler.route(root, ctx.method, routeTemplate(ctx));
    }
  };
}

export default spanprof;

export type { CustomLabelValues, DebugPprofOptions } from '@spanprof/core/framework';
