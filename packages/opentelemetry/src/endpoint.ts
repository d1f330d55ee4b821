import type { Attributes } from '@opentelemetry/api';

const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
const ATTR_HTTP_METHOD_OLD = 'http.method';
const ATTR_HTTP_ROUTE = 'http.route';

/**
 * The endpoint of a local root span: `<METHOD> <route>` when both are known,
 * else the span's name. Never the raw URL: it would carry IDs and query strings.
 */
export function endpointOf(name: string, attributes: Attributes): string {
  const method = attributes[ATTR_HTTP_REQUEST_METHOD] ?? attributes[ATTR_HTTP_METHOD_OLD];
  const route = attributes[ATTR_HTTP_ROUTE];
  if (typeof method === 'string' && typeof route === 'string' && route !== '') {
    return `${method} ${route}`;
  }
  return name;
}
