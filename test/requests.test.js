'use strict';
// Requests per endpoint per collection period: counted where local root spans
// end, under the endpoint they have then (a route set after the span ended moves
// the count, within its period), with no ended request held until collection,
// carried in batch.requests and in the wall profile as comments
// `spanprof.requests:<count>:<endpoint>`. Real SDK, real HTTP on 127.0.0.1 with
// OpenTelemetry's HTTP instrumentation and @spanprof/express, real files.
const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const api = require('@opentelemetry/api');
const { Profile } = require('pprof-format');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { ExportResultCode, FileExporter, readProfileTags, readRequestCounts, writeRequestCounts } = require('@spanprof/core');
const { startTracing, resetTracing } = require('./helpers/otel');
const { decodeProfile, readProfiles } = require('./helpers/pprof');

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-requests-'));
}

/** A ProfileExporter that keeps every batch it is given. */
function keeper() {
  const batches = [];
  return {
    batches,
    async export(batch) {
      batches.push(batch);
      return { code: ExportResultCode.SUCCESS };
    },
    async shutdown() {},
  };
}

async function until(condition, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeEach(() => {
  api.diag.disable();
  resetTracing();
});

test('request counts round-trip through pprof comments: endpoints with ":", "=" and spaces; tags left apart', () => {
  const counts = {
    'GET /users/:id': 37,
    'POST /a:b:c': 2,
    'GET /q?x=1&y=2': 3,
    '  spaced  out  ': 4,
    'name=value: with = both': 5,
    ['__proto__']: 6,
    '(other)': 7,
  };
  const tags = { 'service.name': 'checkout', 'deployment.environment.name': 'a b:c=d' };
  const profile = new Profile();
  writeRequestCounts(profile, { stale: 99 });
  // Tags as the session writes them: `spanprof:<key>=<value>`.
  for (const [key, value] of Object.entries(tags)) profile.comment.push(profile.stringTable.dedup(`spanprof:${key}=${value}`));
  writeRequestCounts(profile, counts); // replaces the earlier counts, keeps the tags
  writeRequestCounts(profile, Object.assign(Object.create(null), counts)); // idempotent
  const { comments } = decodeProfile(Buffer.from(profile.encode()));
  assert.equal(comments.filter((c) => c.startsWith('spanprof.requests:')).length, Object.keys(counts).length);
  assert.ok(comments.includes('spanprof.requests:37:GET /users/:id'), 'the documented format');
  const read = readRequestCounts(comments);
  assert.deepEqual(read, counts);
  assert.equal(Object.getPrototypeOf(read), Object.prototype, '__proto__ is an own count, not a prototype');
  assert.deepEqual(readProfileTags(comments), tags, 'tags read as before, no request comment among them');

  // Malformed comments are skipped; an endpoint listed twice is summed.
  assert.deepEqual(
    readRequestCounts([
      'spanprof.requests:x:GET /',
      'spanprof.requests:5',
      'spanprof.requests::GET /',
      'spanprof.requests:-1:GET /',
      'spanprof:requests=3',
      'spanprof.requests:2:GET /',
      'spanprof.requests:3:GET /',
      'spanprof.requests:0:',
    ]),
    { 'GET /': 5, '': 0 },
  );
});

test('requests per endpoint and period: sent over real HTTP, counted exactly, late Express routes included', async () => {
  const dir = tempDir();
  const kept = keeper();
  const processor = new ProfilingSpanProcessor({ exporter: [new FileExporter({ directory: dir }), kept], uploadPeriodMillis: 600_000, heap: false });
  const { provider, memory } = startTracing([processor]);
  const unregister = registerInstrumentations({ instrumentations: [new HttpInstrumentation()], tracerProvider: provider });
  const express = require('express');
  const { spanprof } = require('@spanprof/express');
  const app = express();
  app.use(spanprof());
  const users = express.Router();
  users.get('/:id', (req, res) => res.send(`user ${req.params.id}`));
  app.use('/users', users);
  app.get('/health', (req, res) => res.send('ok'));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = server.address().port;
  const serverSpans = () => memory.getFinishedSpans().filter((s) => s.kind === api.SpanKind.SERVER).length;
  const send = async (url, n) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`http://127.0.0.1:${port}${url.replace('$i', String(i))}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  };
  try {
    // Period 1: 20 user requests. Period 2: 17 more and 11 health checks, interleaved.
    await send('/users/$i', 20);
    // The server span ends at the response's 'close', which may follow the client's read.
    await until(() => serverSpans() === 20, '20 server spans');
    await processor.forceFlush();
    await Promise.all([send('/users/u$i', 17), send('/health', 11)]);
    await until(() => serverSpans() === 48, '48 server spans');
  } finally {
    await new Promise((resolve) => server.close(resolve));
    unregister();
  }
  await provider.shutdown();

  // No express instrumentation: without the route @spanprof/express sets after the
  // span ended, these requests would count under the span name "GET".
  assert.deepEqual(
    kept.batches.map((b) => b.requests),
    [{ 'GET /users/:id': 20 }, { 'GET /users/:id': 17, 'GET /health': 11 }],
  );
  const walls = readProfiles(dir, 'wall');
  assert.equal(walls.length, 2);
  const fromFiles = walls.map((w) => readRequestCounts(w.comments));
  assert.deepEqual(
    fromFiles,
    kept.batches.map((b) => ({ ...b.requests })),
    'the files carry what the batches carry',
  );
  const total = {};
  for (const counts of fromFiles) for (const [endpoint, n] of Object.entries(counts)) total[endpoint] = (total[endpoint] ?? 0) + n;
  assert.deepEqual(total, { 'GET /users/:id': 37, 'GET /health': 11 }, 'every request sent, counted once');
  for (const w of walls) {
    assert.ok(!Object.keys(readProfileTags(w.comments)).some((k) => k.includes('requests')), 'request counts are not tags');
  }
  // The samples of those requests carry the same endpoint names the counts use.
  const endpoints = new Set(walls.flatMap((w) => w.samples.map((s) => s.labels.trace_endpoint)).filter(Boolean));
  for (const e of endpoints) assert.ok(e in total, `sample endpoint ${e} has a count`);
});

test('a route set just after the root span ended moves the count, 10,000 requests in one period', async () => {
  const { getSpanLabels } = require('@spanprof/core');
  const kept = keeper();
  const processor = new ProfilingSpanProcessor({ exporter: kept, uploadPeriodMillis: 600_000, heap: false });
  // No in-memory span exporter here: 10,000 spans stay cheap.
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const tp = new NodeTracerProvider({ spanProcessors: [processor] });
  tp.register();
  const tracer = tp.getTracer('t');
  const N = 10_000;
  for (let i = 0; i < N; i++) {
    const span = tracer.startSpan('GET', { attributes: { 'http.request.method': 'GET' } });
    const root = getSpanLabels(span).root;
    span.end();
    // What @spanprof/express does at the response's 'close', after the span ended.
    if (i % 2 === 0) root.setRouteEndpoint('GET /users/:id');
    else await Promise.resolve().then(() => root.setRouteEndpoint('GET /orders/:id'));
  }
  await tp.shutdown();
  assert.deepEqual(
    kept.batches.map((b) => b.requests),
    [{ 'GET /users/:id': N / 2, 'GET /orders/:id': N / 2 }],
  );
});

test('a route set after its period was collected leaves that count alone; a root counts once; ended roots are not held', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const { getSpanLabels } = require('@spanprof/core');
  const kept = keeper();
  const processor = new ProfilingSpanProcessor({ exporter: kept, uploadPeriodMillis: 600_000, heap: false });
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const tp = new NodeTracerProvider({ spanProcessors: [processor] });
  tp.register();
  const tracer = tp.getTracer('t');
  const late = tracer.startSpan('GET', { attributes: { 'http.request.method': 'GET' } });
  const lateRoot = getSpanLabels(late).root;
  late.end();
  processor.onEnd(late); // reported twice (two processors on one provider): counted once
  await processor.forceFlush();
  lateRoot.setRouteEndpoint('GET /late'); // after the period that counted it was collected
  const refs = [];
  for (let i = 0; i < 2000; i++) {
    const span = tracer.startSpan('POST', { attributes: { 'http.request.method': 'POST' } });
    refs.push(new WeakRef(getSpanLabels(span).root));
    span.end();
    getSpanLabels(span).root.setRouteEndpoint('POST /items');
  }
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  await tp.shutdown();
  assert.ok(alive <= 1, `${alive} of 2000 ended requests still held before collection`);
  assert.deepEqual(
    kept.batches.map((b) => b.requests),
    [{ GET: 1 }, { 'POST /items': 2000 }],
  );
});

test('only local roots count; distinct endpoints per period are bounded, the excess summed under (other)', async () => {
  const kept = keeper();
  const processor = new ProfilingSpanProcessor({ exporter: kept, uploadPeriodMillis: 600_000, heap: false });
  const { provider } = startTracing([processor]);
  const tracer = provider.getTracer('t');
  for (let i = 0; i < 1005; i++) {
    tracer.startActiveSpan(`job-${i}`, (root) => {
      tracer.startSpan('child').end(); // a child span is not a request
      root.end();
    });
  }
  // A root with a remote parent is a local root: a request that came from elsewhere.
  const remote = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1, isRemote: true });
  tracer.startSpan('job-0', {}, remote).end();
  await processor.forceFlush();
  tracer.startSpan('after-flush').end();
  await provider.shutdown();

  assert.equal(kept.batches.length, 2);
  const [first, second] = kept.batches.map((b) => b.requests);
  assert.equal(Object.keys(first).length, 1001, '1000 endpoints and (other)');
  assert.equal(first['(other)'], 5);
  assert.equal(first['job-0'], 2);
  assert.equal(first['job-999'], 1);
  assert.equal(
    Object.values(first).reduce((a, b) => a + b, 0),
    1006,
    'nothing lost',
  );
  assert.deepEqual(second, { 'after-flush': 1 }, 'the next period starts from zero');
  assert.ok(Object.isFrozen(first));
});
