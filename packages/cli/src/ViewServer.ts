import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { VERSION } from './version';
import {
  compare,
  costByLabel,
  findSpan,
  flameGraph,
  hotspots,
  ProfileDirectory,
  loopBlocks,
  rank,
  scopeTime,
  selectProfiles,
  timeline,
} from '@spanprof/profile';
import type { Cost, ProfileFilter, RankOrder, Scope, TimeKind } from '@spanprof/profile';

export interface ViewServerOptions {
  /** Profile directory (FileExporter output). */
  directory: string;
  /** Port on 127.0.0.1; 0 picks a free one. Default 4747. */
  port?: number;
  /** How often the directory is read again for new and deleted files, ms. Default 2000. */
  refreshMillis?: number;
}

/** Default port of `spanprof view`. */
export const DEFAULT_VIEW_PORT = 4747;

/** Rows of each ranking list, and functions in each hotspot table, at most. */
const MAX_LIMIT = 500;

/** Tags offered as search filters, in this order; others are listed after them. */
export const SEARCH_TAGS = ['service.name', 'service.version', 'deployment.environment.name', 'host.name'];

class BadRequest extends Error {}

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

function asset(file: string, type: string): Asset {
  const body = readFileSync(file);
  return { type, body, gzipped: gzipSync(body) };
}

/** The `.js` files under `dir` and its subdirectories, as paths relative to it with `/` separators. */
function scriptsUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...scriptsUnder(join(dir, entry.name), `${prefix}${entry.name}/`));
    else if (entry.isFile() && entry.name.endsWith('.js')) out.push(`${prefix}${entry.name}`);
  }
  return out;
}

/**
 * The page, its script modules (every `.js` under static/js) and style, and the
 * flame graph library, all served from this package: no CDN. Read once; only
 * these names are served.
 */
function loadAssets(): Map<string, Asset> {
  const staticDir = join(__dirname, '..', '..', 'static');
  const d3Dir = dirname(require.resolve('d3'));
  const flameDir = dirname(require.resolve('d3-flame-graph'));
  return new Map([
    ['index.html', asset(join(staticDir, 'index.html'), 'text/html; charset=utf-8')],
    ...scriptsUnder(join(staticDir, 'js')).map((file): [string, Asset] => [`js/${file}`, asset(join(staticDir, 'js', file), 'text/javascript; charset=utf-8')]),
    ['app.css', asset(join(staticDir, 'app.css'), 'text/css; charset=utf-8')],
    ['vendor/d3.min.js', asset(join(d3Dir, 'd3.min.js'), 'text/javascript; charset=utf-8')],
    ['vendor/d3-flamegraph.min.js', asset(join(flameDir, 'd3-flamegraph.umd.min.js'), 'text/javascript; charset=utf-8')],
    ['vendor/d3-flamegraph.css', asset(join(flameDir, 'd3-flamegraph.css'), 'text/css; charset=utf-8')],
  ]);
}

/** Paths the page answers itself (deep links): they all get the page. */
const PAGE_PATHS = /^\/(?:|span\/[^/]+|trace\/[^/]+|root\/[^/]+|endpoint\/.+|label\/[^/]+|by\/[^/]+|compare|blocks)$/;

function parseFilter(params: URLSearchParams, name = 'tag'): ProfileFilter {
  const tags: Record<string, string> = {};
  for (const pair of params.getAll(name)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BadRequest(`${name}: expected key=value, got "${pair}"`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const time = (key: string): number | undefined => {
    const v = params.get(key);
    if (v === null || v === '') return undefined;
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(t)) throw new BadRequest(`${key}: expected an ISO date or epoch milliseconds, got "${v}"`);
    return t;
  };
  return { tags, from: time('from'), to: time('to') };
}

function parseValue(params: URLSearchParams): TimeKind {
  const v = params.get('value') ?? 'cpu';
  if (v !== 'cpu' && v !== 'wall') throw new BadRequest(`value: expected cpu or wall, got "${v}"`);
  return v;
}

/** `order`: how the ranking's lists are sorted (see `RankOrder`); default `duration`, slowest first. */
function parseOrder(params: URLSearchParams): RankOrder {
  const v = params.get('order') ?? 'duration';
  if (v !== 'duration' && v !== 'cpu' && v !== 'wall') throw new BadRequest(`order: expected duration, cpu or wall, got "${v}"`);
  return v;
}

function parseLimit(params: URLSearchParams, fallback: number): number {
  const v = params.get('limit');
  if (v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new BadRequest(`limit: expected a whole number from 1, got "${v}"`);
  return Math.min(n, MAX_LIMIT);
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;

function parseScope(params: URLSearchParams): Scope {
  const kind = params.get('scope') ?? 'all';
  const id = (params.get('id') ?? '').toLowerCase();
  switch (kind) {
    case 'all':
      return { kind };
    case 'span':
    case 'root':
      if (!HEX16.test(id)) throw new BadRequest(`id: a ${kind === 'span' ? 'span' : 'local root span'} ID is 16 hex characters, got "${id}"`);
      return { kind, id };
    case 'trace':
      if (!HEX32.test(id)) throw new BadRequest(`id: a trace ID is 32 hex characters, got "${id}"`);
      return { kind, id };
    case 'endpoint':
      return { kind, name: params.get('id') ?? '' };
    case 'label': {
      // id=name=value: a custom label such as tenant=acme.
      const raw = params.get('id') ?? '';
      const eq = raw.indexOf('=');
      if (eq <= 0) throw new BadRequest(`id: a label is name=value, got "${raw}"`);
      return { kind, name: raw.slice(0, eq), value: raw.slice(eq + 1) };
    }
    default:
      throw new BadRequest(`scope: expected all, span, root, trace, endpoint or label, got "${kind}"`);
  }
}

/**
 * What the page may load and run: its own scripts only (no inline script or
 * event handler, so a name that slipped through escaping still cannot run),
 * inline styles (d3 and d3-flame-graph set them), nothing from elsewhere.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `spanprof view`: a local web viewer over a profile directory. Listens on
 * 127.0.0.1 only, reads the directory again every `refreshMillis`, and answers
 * the page's JSON queries from an in-memory index of the wall profiles.
 */
export class ViewServer {
  readonly profiles: ProfileDirectory;
  private readonly port: number;
  private readonly refreshMillis: number;
  private readonly assets = loadAssets();
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastRefresh = 0;
  private generation = 0;
  private readonly cache = new Map<string, Buffer>();
  private skipped: { file: string; reason: string }[] = [];

  constructor(options: ViewServerOptions) {
    this.profiles = new ProfileDirectory(options.directory);
    this.port = options.port ?? DEFAULT_VIEW_PORT;
    this.refreshMillis = options.refreshMillis ?? 2000;
  }

  /** Indexes the directory (throws `ProfileDirectoryError` if it cannot be read), then listens. Resolves to the URL. */
  async start(): Promise<string> {
    this.refresh();
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.timer = setInterval(() => this.refreshQuietly(), this.refreshMillis);
    this.timer.unref();
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return `http://127.0.0.1:${address?.port ?? this.port}/`;
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Reads new and deleted files now. */
  refresh(): void {
    const result = this.profiles.refresh();
    this.lastRefresh = Date.now();
    this.skipped = result.skipped;
    if (result.added > 0 || result.removed > 0) {
      this.generation++;
      this.cache.clear();
    }
  }

  private refreshQuietly(): void {
    try {
      this.refresh();
    } catch {
      // The directory went away for a moment; the index keeps what it had.
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, type: string, body: Buffer | string, extra: Record<string, string> = {}): void => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'referrer-policy': 'no-referrer',
        ...extra,
      });
      res.end(body);
    };
    try {
      // The viewer serves code paths and IDs: only to pages loaded from itself (no DNS rebinding).
      const host = req.headers.host ?? '';
      if (!/^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?$/.test(host)) {
        send(403, 'text/plain; charset=utf-8', 'spanprof view answers only to 127.0.0.1 and localhost\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(405, 'text/plain; charset=utf-8', 'GET only\n', { allow: 'GET, HEAD' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/api/')) {
        if (Date.now() - this.lastRefresh >= this.refreshMillis) this.refreshQuietly();
        const key = `${url.pathname}?${url.searchParams.toString()}`;
        let body = this.cache.get(key);
        if (body === undefined) {
          body = gzipSync(JSON.stringify(this.api(url.pathname, url.searchParams)));
          if (this.cache.size >= 64) this.cache.delete(this.cache.keys().next().value as string);
          this.cache.set(key, body);
        }
        send(200, 'application/json; charset=utf-8', body, { 'content-encoding': 'gzip' });
        return;
      }
      const name = url.pathname.startsWith('/static/') ? url.pathname.slice('/static/'.length) : PAGE_PATHS.test(url.pathname) ? 'index.html' : undefined;
      const file = name === undefined ? undefined : this.assets.get(name);
      if (file === undefined) {
        send(404, 'text/plain; charset=utf-8', 'not found\n');
        return;
      }
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      send(200, file.type, gzip ? file.gzipped : file.body, gzip ? { 'content-encoding': 'gzip' } : {});
    } catch (err) {
      if (err instanceof BadRequest) send(400, 'application/json; charset=utf-8', JSON.stringify({ error: err.message }));
      else send(500, 'application/json; charset=utf-8', JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
    }
  }

  private api(path: string, params: URLSearchParams): unknown {
    switch (path) {
      case '/api/meta':
        return this.meta();
      case '/api/ranking':
        return this.ranking(params);
      case '/api/hotspots':
        return this.hotspots(params);
      case '/api/blocks':
        return this.blocks(params);
      case '/api/timeline':
        return this.timeline(params);
      case '/api/compare':
        return this.compare(params);
      case '/api/labels':
        return this.byLabel(params);
      default:
        throw new BadRequest(`no such query: ${path}`);
    }
  }

  /** The directory, its profiles' time range and the tag values to search by. */
  private meta(): unknown {
    const all = this.profiles.profiles;
    const values = new Map<string, Set<string>>();
    for (const p of all) {
      for (const [k, v] of Object.entries(p.tags)) {
        let set = values.get(k);
        if (set === undefined) values.set(k, (set = new Set()));
        set.add(v);
      }
    }
    const keys = [...SEARCH_TAGS.filter((k) => values.has(k)), ...[...values.keys()].filter((k) => !SEARCH_TAGS.includes(k)).sort()];
    return {
      version: VERSION,
      directory: this.profiles.directory,
      generation: this.generation,
      profiles: all.length,
      skipped: this.skipped.map((s) => s.file),
      from: all.length > 0 ? all.reduce((m, p) => Math.min(m, p.start), Infinity) : null,
      to: all.length > 0 ? all.reduce((m, p) => Math.max(m, p.end), -Infinity) : null,
      searchTags: SEARCH_TAGS,
      tags: Object.fromEntries(keys.map((k) => [k, [...(values.get(k) ?? [])].sort()])),
      // The custom and thread label names the samples carry, to group by.
      labels: [...new Set(all.flatMap((p) => [...p.custom.keys()]))].sort(),
    };
  }

  /** Endpoints, traces and spans of the selection, costliest first. */
  private ranking(params: URLSearchParams): unknown {
    const all = this.profiles.profiles;
    const selected = selectProfiles(all, parseFilter(params));
    const limit = parseLimit(params, 50);
    parseValue(params);
    const r = rank(selected, parseOrder(params));
    return {
      profiles: selected.length,
      total: r.total,
      unattributed: r.unattributed,
      endpoints: r.endpoints.slice(0, limit),
      traces: r.traces.slice(0, limit),
      spans: r.spans.slice(0, limit),
      counts: { endpoints: r.endpoints.length, traces: r.traces.length, spans: r.spans.length },
    };
  }

  /** Top functions and flame graph of a scope, with its spans or traces. */
  private hotspots(params: URLSearchParams): unknown {
    const all = this.profiles.profiles;
    const selected = selectProfiles(all, parseFilter(params));
    const scope = parseScope(params);
    const value = parseValue(params);
    const h = hotspots(selected, scope, value);
    const span = scope.kind === 'span' ? findSpan(selected, scope.id) : undefined;
    const limit = parseLimit(params, 30);
    // A trace or local root lists its spans; an endpoint its costliest traces.
    const within =
      scope.kind === 'trace' || scope.kind === 'root' || scope.kind === 'endpoint' || scope.kind === 'label' ? rank(selected, 'duration', scope) : undefined;
    return {
      profiles: selected.length,
      scope,
      value,
      span,
      time: scopeTime(selected, scope),
      total: h.total,
      functions: h.functions.slice(0, limit),
      spans: scope.kind === 'endpoint' || scope.kind === 'label' ? undefined : within?.spans.slice(0, limit),
      traces: scope.kind === 'endpoint' || scope.kind === 'label' ? within?.traces.slice(0, limit) : undefined,
      flame: flameGraph(selected, scope, value),
    };
  }

  /** The event-loop blocks of the selection, longest first. */
  private blocks(params: URLSearchParams): unknown {
    const selected = selectProfiles(this.profiles.profiles, parseFilter(params));
    const blocks = loopBlocks(selected);
    return { profiles: selected.length, blocks: blocks.slice(0, parseLimit(params, 100)), count: blocks.length };
  }

  /** The timeline of a span's local root: its spans as bars, its samples in time (`?span=ID`). */
  private timeline(params: URLSearchParams): unknown {
    const id = (params.get('span') ?? '').toLowerCase();
    if (!HEX16.test(id)) throw new BadRequest(`span: a span ID is 16 hex characters, got "${id}"`);
    const selected = selectProfiles(this.profiles.profiles, parseFilter(params));
    return { profiles: selected.length, spanId: id, timeline: timeline(selected, id) ?? null };
  }

  /** Cost per value of a sample label (`?by=tenant`, `thread_name`, ...), costliest first; `''`: samples without it. */
  private byLabel(params: URLSearchParams): unknown {
    const name = params.get('by') ?? '';
    if (name === '') throw new BadRequest('by: a label name (tenant, thread_name, ...) is needed');
    const selected = selectProfiles(this.profiles.profiles, parseFilter(params));
    const value = parseValue(params);
    const time = (c: Cost): number => (value === 'cpu' ? c.cpuNanos : c.wallNanos);
    const values = [...costByLabel(selected, name)].map(([v, c]) => ({ value: v, ...c })).sort((a, b) => time(b) - time(a) || b.samples - a.samples);
    const total = { cpuNanos: 0, wallNanos: 0, samples: 0 };
    for (const v of values) {
      total.cpuNanos += v.cpuNanos;
      total.wallNanos += v.wallNanos;
      total.samples += v.samples;
    }
    return { profiles: selected.length, label: name, value, total, values: values.slice(0, parseLimit(params, 50)), count: values.length };
  }

  /** Two selections compared, with both flame graphs. */
  private compare(params: URLSearchParams): unknown {
    const all = this.profiles.profiles;
    // Each side: the page's tag filter narrowed by its own pairs.
    const common = parseFilter(params);
    const side = (name: string): ProfileFilter => {
      const own = parseFilter(params, name);
      return { ...own, tags: { ...common.tags, ...own.tags } };
    };
    const base = selectProfiles(all, side('base'));
    const head = selectProfiles(all, side('head'));
    const value = parseValue(params);
    return {
      ...compare(base, head, { value, limit: parseLimit(params, 20) }),
      flames: { base: flameGraph(base, { kind: 'all' }, value), head: flameGraph(head, { kind: 'all' }, value) },
    };
  }
}
