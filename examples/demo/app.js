'use strict';
// A small shop API on node:http. Every route does some I/O-like waiting and
// then one piece of CPU work of its own, inside a child span, so each endpoint
// has a distinct hotspot: the thing the demo's profile must find. The daily
// report also reads a 512 KiB archive file (a slow I/O wait), and an admin route
// rebuilds the search index synchronously, blocking the event loop for 120 ms.
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { trace } = require('@opentelemetry/api');

const tracer = trace.getTracer('spanprof-demo');

/** Pretends to be a database round trip. */
function query(ms) {
  return sleep(ms);
}

/** Runs `fn` in a child span, as instrumented libraries and app code do. */
function inSpan(name, fn) {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
}

// --- the hotspots, one per route ------------------------------------------

/** /checkout: taxes and discounts over every line of the cart, many times over. */
function computeCartTotals(lines) {
  let total = 0;
  for (let round = 0; round < 12000; round++) {
    for (const line of lines) {
      const net = line.price * line.quantity;
      const discount = net > 100 ? Math.floor(net * 0.05 * 100) / 100 : 0;
      total += Math.round((net - discount) * (1 + line.taxRate) * 100) / 100;
    }
  }
  return total / 12000;
}

/** /search: scores every product name against the query. */
function rankSearchResults(query, products) {
  const q = query.toLowerCase();
  const scored = products.map((name) => {
    const n = name.toLowerCase();
    let score = 0;
    for (let i = 0; i < n.length; i++) if (q.includes(n[i])) score += n.charCodeAt(i) % 7;
    return { name, score: score + (n.includes(q) ? 100 : 0) };
  });
  scored.sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : 1));
  return scored.slice(0, 10);
}

/** /users/:id/avatar: draws an identicon pixel by pixel. */
function renderAvatar(seed) {
  const size = 96;
  const pixels = new Uint8ClampedArray(size * size * 4);
  let h = seed;
  for (let pass = 0; pass < 40; pass++) {
    for (let i = 0; i < size * size; i++) {
      h = (h * 1103515245 + 12345) >>> 0;
      const o = i * 4;
      pixels[o] = (pixels[o] + (h & 0xff)) >> 1;
      pixels[o + 1] = (pixels[o + 1] + ((h >> 8) & 0xff)) >> 1;
      pixels[o + 2] = (pixels[o + 2] + ((h >> 16) & 0xff)) >> 1;
      pixels[o + 3] = 255;
    }
  }
  return pixels.reduce((a, b) => (a + b) & 0xffff, 0);
}

/** /reports/daily: rolls orders up by hour and product. */
function aggregateDailyReport(orders) {
  const byKey = new Map();
  for (let pass = 0; pass < 16; pass++) {
    for (const o of orders) {
      const key = `${o.hour}:${o.product}`;
      const row = byKey.get(key) ?? { count: 0, revenue: 0 };
      row.count++;
      row.revenue += o.amount;
      byKey.set(key, row);
    }
  }
  return [...byKey.entries()].sort((a, b) => b[1].revenue - a[1].revenue).slice(0, 5);
}

/** POST /admin/reindex: rebuilds the search index in one synchronous go: the event loop stops for 120 ms. */
function rebuildSearchIndex(products) {
  const index = new Map();
  const until = Date.now() + 120;
  while (Date.now() < until) {
    for (const name of products.slice(0, 500)) {
      for (const word of name.split(' ')) index.set(word, (index.get(word) ?? 0) + 1);
    }
  }
  return index.size;
}

// --- data ------------------------------------------------------------------

/** The archived orders the daily report reads: 512 KiB in the temporary directory, removed at exit. */
const archive = path.join(os.tmpdir(), `spanprof-demo-orders-${process.pid}.bin`);
function writeArchive() {
  fs.writeFileSync(archive, Buffer.alloc(512 * 1024, 7));
  process.once('exit', () => fs.rmSync(archive, { force: true }));
}

const cart = Array.from({ length: 60 }, (_, i) => ({ price: 3 + (i % 17), quantity: 1 + (i % 3), taxRate: i % 2 ? 0.2 : 0.07 }));
const products = Array.from({ length: 6000 }, (_, i) => `product ${i} ${['red', 'blue', 'steel', 'oak'][i % 4]} ${(i * 7919) % 1000}`);
const orders = Array.from({ length: 4000 }, (_, i) => ({ hour: i % 24, product: i % 50, amount: (i * 31) % 200 }));

// --- routes ----------------------------------------------------------------

const routes = [
  {
    method: 'GET',
    route: '/checkout/:cartId',
    match: /^\/checkout\/([^/]+)$/,
    async handle() {
      await query(2);
      const total = await inSpan('price-cart', async () => {
        await query(1);
        return computeCartTotals(cart);
      });
      return { total };
    },
  },
  {
    method: 'GET',
    route: '/search',
    match: /^\/search$/,
    async handle(_m, url) {
      await query(1);
      const results = await inSpan('rank-results', async () => {
        await Promise.resolve();
        return rankSearchResults(url.searchParams.get('q') ?? 'oak', products);
      });
      return { results: results.length };
    },
  },
  {
    method: 'GET',
    route: '/users/:id/avatar',
    match: /^\/users\/(\d+)\/avatar$/,
    async handle(m) {
      await query(1);
      const checksum = await inSpan('render-avatar', () => new Promise((resolve) => setImmediate(() => resolve(renderAvatar(Number(m[1]))))));
      return { checksum };
    },
  },
  {
    method: 'GET',
    route: '/reports/daily',
    match: /^\/reports\/daily$/,
    async handle() {
      await query(3);
      const top = await inSpan('load-orders', async () => {
        // Yesterday's orders from the archive: a slow read, the I/O wait of this route.
        await fs.promises.readFile(archive);
        return inSpan('aggregate-report', async () => aggregateDailyReport(orders));
      });
      return { top: top.length };
    },
  },
  {
    method: 'POST',
    route: '/admin/reindex',
    match: /^\/admin\/reindex$/,
    async handle() {
      return { words: rebuildSearchIndex(products) };
    },
  },
];

/** The demo's expected hotspot per endpoint under load (checked by the tests). */
const expectedHotspots = {
  'GET /checkout/:cartId': 'computeCartTotals',
  'GET /search': 'rankSearchResults',
  'GET /users/:id/avatar': 'renderAvatar',
  'GET /reports/daily': 'aggregateDailyReport',
};
/** The route called now and then that blocks the event loop, and the function that does (checked by the tests). */
const expectedBlock = { endpoint: 'POST /admin/reindex', function: 'rebuildSearchIndex' };

function createServer() {
  writeArchive();
  return http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    for (const r of routes) {
      const m = r.method === req.method && url.pathname.match(r.match);
      if (!m) continue;
      // What a router does for OpenTelemetry: name the server span by its route.
      const span = trace.getActiveSpan();
      span?.setAttribute('http.route', r.route);
      span?.updateName(`${r.method} ${r.route}`);
      r.handle(m, url).then(
        (body) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        },
        (err) => {
          res.statusCode = 500;
          res.end(String(err));
        },
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  });
}

module.exports = { createServer, routes, expectedHotspots, expectedBlock };
