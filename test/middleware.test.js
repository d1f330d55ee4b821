'use strict';
// @spanprof/express, @spanprof/fastify and @spanprof/koa in one process with a
// real SDK, OpenTelemetry's HTTP instrumentation (no framework instrumentation)
// and real HTTP on 127.0.0.1: custom labels bounded and guarded, and the
// on-demand /debug/pprof endpoints.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const api = require('@opentelemetry/api');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { FileExporter } = require('@spanprof/core');
const { RESERVED_LABEL_NAMES } = require('@spanprof/profile');
const { startTracing, resetTracing } = require('./helpers/otel');
const { captureDiag } = require('./helpers/diag');
const { decodeProfile, readProfiles } = require('./helpers/pprof');
const { renderUser } = require('../examples/shared/work');

let dir;
let processor;
let provider;
let unregister;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-middleware-'));
  processor = new ProfilingSpanProcessor({
    exporter: new FileExporter({ directory: dir }),
    samplingIntervalMicros: 1000,
    uploadPeriodMillis: 600_000,
    minFlushIntervalMillis: 0,
  });
  ({ provider } = startTracing([processor]));
  unregister = registerInstrumentations({ instrumentations: [new HttpInstrumentation()], tracerProvider: provider });
});

after(async () => {
  await provider.shutdown();
  unregister();
  resetTracing();
  api.diag.disable();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One app per framework with GET /users/:id under a router prefix, and the spanprof integration. */
const frameworks = {
  async express(options, host = '127.0.0.1') {
    const express = require('express');
    const { spanprof } = require('@spanprof/express');
    const app = express();
    app.use(spanprof(options));
    const users = express.Router();
    users.get('/:id', (req, res) => res.send(String(renderUser(req.params.id))));
    app.use('/users', users);
    const server = await new Promise((resolve) => {
      const s = app.listen(0, host, () => resolve(s));
    });
    return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
  },
  async fastify(options) {
    const Fastify = require('fastify');
    const { spanprof } = require('@spanprof/fastify');
    const app = Fastify();
    await app.register(spanprof, options);
    await app.register(async (users) => users.get('/:id', async (request) => String(renderUser(request.params.id))), { prefix: '/users' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: app.server.address().port, close: () => app.close() };
  },
  async koa(options) {
    const Koa = require('koa');
    const Router = require('@koa/router');
    const { spanprof } = require('@spanprof/koa');
    const app = new Koa();
    app.use(spanprof(options));
    const users = new Router({ prefix: '/users' });
    users.get('/:id', (ctx) => {
      ctx.body = String(renderUser(ctx.params.id));
    });
    app.use(users.routes());
    const server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
  },
};

const headerOf = (fw, req, name) => (fw === 'koa' ? req.get(name) : fw === 'fastify' ? req.headers[name] : req.get(name));

async function get(port, url, headers = {}, host = '127.0.0.1') {
  const res = await fetch(`http://${host}:${port}${url}`, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

for (const fw of Object.keys(frameworks)) {
  test(`${fw}: custom labels are bounded, checked and guarded; the request always goes on`, async () => {
    const diagLines = captureDiag('warn');
    const long = 'x'.repeat(500);
    const app = await frameworks[fw]({
      labels: (req) => {
        const mode = headerOf(fw, req, 'x-mode');
        if (mode === 'throw') throw new Error('tenant lookup failed');
        const values = { span_id: 'forged', thread_name: 'forged', 'bad name!': 'v', obj: { a: 1 }, nothing: undefined, mode: `${fw}-${mode}`, long };
        for (let i = 0; i < 10; i++) values[`extra${i}`] = i;
        return values;
      },
    });
    const first = new Set(fs.readdirSync(dir));
    try {
      const requests = [];
      for (let i = 0; i < 30; i++) requests.push(get(app.port, `/users/${i}?token=abc`, { 'x-mode': 'many' }));
      for (let i = 0; i < 10; i++) requests.push(get(app.port, `/users/t${i}`, { 'x-mode': 'throw' }));
      for (const r of await Promise.all(requests)) assert.equal(r.status, 200, 'a throwing labels callback never fails the request');
      await processor.forceFlush();
    } finally {
      await app.close();
      api.diag.disable();
    }
    const files = fs.readdirSync(dir).filter((n) => !first.has(n) && n.endsWith('.wall.pb.gz'));
    const samples = files.flatMap((n) => decodeProfile(fs.readFileSync(path.join(dir, n))).samples);
    const users = samples.filter((s) => s.stack.some((f) => f && f.name === 'renderUser'));
    const many = users.filter((s) => s.labels.mode === `${fw}-many`);
    const threw = users.filter((s) => s.labels.mode === undefined);
    assert.ok(many.length >= 10 && threw.length >= 3, `samples: ${many.length} with labels, ${threw.length} from throwing callbacks`);
    for (const s of [...many, ...threw]) assert.equal(s.labels.trace_endpoint, 'GET /users/:id', 'the route template, never the URL');
    for (const s of many) {
      assert.match(s.labels.span_id, /^[0-9a-f]{16}$/, 'a custom label never overrides span_id');
      assert.equal(s.labels.thread_name, 'main', 'nor thread_name');
      assert.equal(s.labels.long.length, 128, 'values cut to 128 characters');
      const custom = Object.keys(s.labels).filter((k) => !RESERVED_LABEL_NAMES.includes(k));
      assert.deepEqual(
        custom.sort(),
        ['extra0', 'extra1', 'extra2', 'extra3', 'extra4', 'extra5', 'long', 'mode'],
        'at most 8 custom labels, the bad ones left out',
      );
    }
    assert.equal(diagLines.filter((l) => l.includes('labels callback threw')).length, 1, 'a throwing callback is warned about once');
    assert.equal(diagLines.filter((l) => l.includes('more than 8 custom labels')).length, 1);
    assert.ok(diagLines.some((l) => l.includes('"span_id" left out')) && diagLines.some((l) => l.includes('"bad name!" left out')));
    assert.ok(diagLines.some((l) => l.includes('"obj" left out: its value is a object')));
  });

  test(`${fw}: /debug/pprof: a capped, span-labelled capture, one at a time, authorized, nothing lost`, async () => {
    let allow = true;
    const app = await frameworks[fw]({ pprof: { maxSeconds: 1, minIntervalSeconds: 0, authorize: () => allow } });
    try {
      const before = fs.readdirSync(dir).length;
      const load = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const answers = [];
        for (let i = 0; i < 60; i++) answers.push(get(app.port, `/users/${i}`));
        return Promise.all(answers);
      })();
      const capture = get(app.port, '/debug/pprof/profile?seconds=30');
      // A capture begins by exporting the period so far: once that file is there, it is under way.
      for (const deadline = Date.now() + 30_000; fs.readdirSync(dir).length === before;) {
        assert.ok(Date.now() < deadline, 'the capture began');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const second = await get(app.port, '/debug/pprof/profile?seconds=1');
      assert.equal(second.status, 409, 'a second concurrent capture is refused');
      const [profile] = await Promise.all([capture, load]);
      assert.equal(profile.status, 200);
      assert.equal(profile.headers.get('x-spanprof-seconds'), '1', 'seconds capped at maxSeconds');
      const decoded = decodeProfile(profile.body);
      assert.deepEqual(decoded.sampleTypes, ['sample/count', 'wall/nanoseconds', 'cpu/nanoseconds']);
      const durationSeconds = Number(decoded.durationNanos) / 1e9;
      assert.ok(durationSeconds >= 0.9 && durationSeconds < 3, `the capture lasted ${durationSeconds} s`);
      const labelled = decoded.samples.filter(
        (s) => s.stack.some((f) => f && f.name === 'renderUser') && s.labels.trace_endpoint === 'GET /users/:id' && s.labels.span_id,
      );
      assert.ok(labelled.length > 0, 'the capture holds the span-labelled requests made meanwhile');
      assert.ok(fs.readdirSync(dir).length > before, 'the periodic exporter got the captured period as well');

      assert.equal((await get(app.port, '/debug/pprof/profile?seconds=abc')).status, 400);
      assert.equal((await get(app.port, '/debug/pprof/profile?seconds=1&seconds=2')).status, 400, 'a repeated seconds is refused');
      const heap = await get(app.port, '/debug/pprof/heap');
      assert.equal(heap.status, 200);
      assert.deepEqual(decodeProfile(heap.body).sampleTypes, ['inuse_objects/count', 'inuse_space/bytes']);
      assert.equal((await get(app.port, '/debug/pprof/')).status, 200);
      allow = false;
      assert.equal((await get(app.port, '/debug/pprof/heap')).status, 403, 'authorize decides');
    } finally {
      await app.close();
    }
  });
}

for (const fw of Object.keys(frameworks)) {
  test(`${fw}: /debug/pprof refuses a loopback request a proxy forwarded; a token lets a request in from anywhere`, async (t) => {
    const token = 'a-long-random-secret-0123456789';
    const local = await frameworks[fw]({ pprof: true });
    const withToken = await frameworks[fw]({ pprof: { token } });
    try {
      assert.equal((await get(local.port, '/debug/pprof/heap')).status, 200, 'loopback, not forwarded');
      for (const [name, value] of [
        ['x-forwarded-for', '203.0.113.9'],
        ['forwarded', 'for=203.0.113.9;proto=https'],
        ['x-real-ip', '203.0.113.9'],
        ['x-forwarded-host', 'app.example.com'],
        ['via', '1.1 proxy'],
        ['x-forwarded-proto', 'https'],
        ['x-envoy-external-address', '203.0.113.9'],
        ['true-client-ip', '203.0.113.9'],
      ]) {
        assert.equal((await get(local.port, '/debug/pprof/heap', { [name]: value })).status, 403, `refused with ${name}`);
      }
      assert.equal((await get(withToken.port, '/debug/pprof/heap')).status, 403, 'no token');
      assert.equal((await get(withToken.port, '/debug/pprof/heap', { authorization: `Bearer ${token}x` })).status, 403, 'a wrong token');
      assert.equal((await get(withToken.port, '/debug/pprof/heap', { authorization: token })).status, 403, 'not a bearer token');
      const forwarded = await get(withToken.port, '/debug/pprof/heap', { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' });
      assert.equal(forwarded.status, 200, 'the token, through a proxy');
      assert.equal((await get(withToken.port, '/users/1')).status, 200, 'the app itself answers');
      t.diagnostic(`figure [item 3]: ${fw}: 8 of 8 forwarding headers refused (403); the token through a proxy: ${forwarded.status}`);
    } finally {
      await local.close();
      await withToken.close();
    }
  });
}

test('/debug/pprof: a short token is warned about (process warning naming the option) and every request refused', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const app = await frameworks.express({ pprof: { token: 'short' } });
  try {
    assert.equal((await get(app.port, '/debug/pprof/heap', { authorization: 'Bearer short' })).status, 403);
    await new Promise((resolve) => setImmediate(resolve));
    const said = warnings.filter((w) => w.code === 'SPANPROF_W001' && w.message.includes('pprof.token'));
    assert.equal(said.length, 1, warnings.map((w) => w.message).join(' | '));
    assert.ok(!said[0].message.includes('short'), 'the token is never repeated');
  } finally {
    process.off('warning', onWarning);
    await app.close();
  }
});

test('/debug/pprof: after a capture the next one waits minIntervalSeconds (429 with Retry-After), so captures cannot rotate the history away', async () => {
  // The interval is the process's, whichever integration captured last.
  const first = await frameworks.fastify({ pprof: { maxSeconds: 1, minIntervalSeconds: 0 } });
  const app = await frameworks.express({ pprof: { maxSeconds: 1 } });
  try {
    assert.equal((await get(first.port, '/debug/pprof/profile?seconds=1')).status, 200);
    const batches = processor.stats().batches;
    const again = await get(app.port, '/debug/pprof/profile?seconds=1');
    assert.equal(again.status, 429);
    const retryAfter = Number(again.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(again.body.toString(), /pprof\.minIntervalSeconds/);
    assert.equal(processor.stats().batches, batches, 'the refused capture collected nothing');
  } finally {
    await first.close();
    await app.close();
  }
});

test('/debug/pprof is off unless asked for, and loopback-only without authorize', async () => {
  const off = await frameworks.express({});
  try {
    assert.equal((await get(off.port, '/debug/pprof/heap')).status, 404);
  } finally {
    await off.close();
  }
  const on = await frameworks.express({ pprof: true });
  try {
    // The test client is on 127.0.0.1: allowed by the default.
    assert.equal((await get(on.port, '/debug/pprof/heap')).status, 200);
  } finally {
    await on.close();
  }
  // A client that is not on loopback: the app listens on this machine's own (non-internal)
  // address only for this check, and the request comes from that address.
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && !a.internal && a.family === 'IPv4');
  if (external === undefined) {
    assert.ok(process.env.CI !== 'true', 'a CI machine has a non-loopback interface');
  } else {
    const wide = await frameworks.express({ pprof: true }, external.address);
    try {
      assert.equal((await get(wide.port, '/debug/pprof/heap', {}, external.address)).status, 403, `refused for ${external.address}`);
      assert.equal((await get(wide.port, '/users/1', {}, external.address)).status, 200, 'the app itself answers that client');
    } finally {
      await wide.close();
    }
  }
  assert.ok(readProfiles(dir, 'wall').length > 0);
});
