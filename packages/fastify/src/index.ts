import { diag } from '@opentelemetry/api';
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DebugPprofEndpoints, RequestLabeler } from '@spanprof/core/framework';
import type { CustomLabelValues, DebugPprofEndpoint, DebugPprofOptions } from '@spanprof/core/framework';

const logger = diag.createComponentLogger({ namespace: '@spanprof/fastify' });

export interface SpanprofFastifyOptions {
  /**
   * Extra sample labels for every sample of the request, e.g.
   * `(request) => ({ tenant: request.headers['x-tenant'] })`. At most 8
   * labels; names of letters, digits, `_ . -`; values cut to 128 characters. A
   * throw is logged once and the request goes on without them.
   */
  labels?: (request: FastifyRequest) => CustomLabelValues | undefined;
  /** Label samples with the route template (`GET /users/:id`). Default true. */
  endpoint?: boolean;
  /**
   * On-demand profiles at `/debug/pprof/profile?seconds=N` and
   * `/debug/pprof/heap`. Off by default; `true` allows loopback clients only;
   * give `authorize` to decide.
   */
  pprof?: boolean | DebugPprofOptions<FastifyRequest>;
}

/** The route template Fastify matched (`/users/:id`), on Fastify 4 and 5. */
function routeTemplate(request: FastifyRequest): string | undefined {
  const options = (request as FastifyRequest & { routeOptions?: { url?: string } }).routeOptions;
  if (options !== undefined) return options.url;
  return (request as unknown as { routerPath?: string }).routerPath;
}

const plugin: FastifyPluginCallback<SpanprofFastifyOptions> = (fastify: FastifyInstance, options: SpanprofFastifyOptions, done: (err?: Error) => void) => {
  const labeler = new RequestLabeler<FastifyRequest>('@spanprof/fastify', options.labels);
  const withEndpoint = options.endpoint !== false;
  // onRequest runs inside the HTTP server span, with the route already matched.
  fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, hookDone: (err?: Error) => void) => {
    try {
      const root = labeler.begin(request);
      if (withEndpoint) labeler.route(root, request.method, routeTemplate(request));
    } catch (err) {
      logger.debug('request labelling failed', err);
    }
    hookDone();
  });
  const pprof = options.pprof;
  if (pprof !== undefined && pprof !== false) {
    const debug = new DebugPprofEndpoints<FastifyRequest>(pprof === true ? {} : pprof, (request) => request.raw);
    const serve = (endpoint: DebugPprofEndpoint) => async (request: FastifyRequest, reply: FastifyReply) => {
      const seconds = (request.query as Record<string, unknown> | undefined)?.seconds;
      // Raw: a repeated `seconds` is refused (400), not silently replaced by the default.
      const answer = await debug.handle(endpoint, request, seconds);
      reply.code(answer.status).headers(answer.headers);
      return answer.body;
    };
    fastify.get(`${debug.prefix}/`, serve('index'));
    fastify.get(`${debug.prefix}/profile`, serve('profile'));
    fastify.get(`${debug.prefix}/heap`, serve('heap'));
  }
  done();
};

/**
 * spanprof's Fastify plugin: `fastify.register(spanprof, { labels })`. Not
 * encapsulated: it labels every route of the instance. Needs a running
 * spanprof profiler (`ProfilingSpanProcessor` in the SDK, or `--require
 * @spanprof/auto/register`) and HTTP tracing; it adds to the request's samples
 * the route template as `trace_endpoint` (never the raw URL) and the custom labels.
 */
export const spanprof = fp(plugin, { fastify: '4.x || 5.x', name: '@spanprof/fastify' });
export default spanprof;

export type { CustomLabelValues, DebugPprofOptions } from '@spanprof/core/framework';
