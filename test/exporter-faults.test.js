'use strict';
// Fault behaviour every HTTP exporter shares, against a receiver on 127.0.0.1
// scripted to refuse, hang, fail or throttle: retries on network errors, 5xx and
// 429 (Retry-After honoured), none on other 4xx (warned once), a bounded queue
// that drops the oldest, a shutdown deadline, no secrets in logs, and the app's
// own requests served throughout.
const { test, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const v8 = require('node:v8');
const vm = require('node:vm');
const api = require('@opentelemetry/api');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { ExportResultCode } = require('@spanprof/core');
const { OTLPProfileExporter } = require('@spanprof/exporter-otlp');
const { PyroscopeExporter } = require('@spanprof/exporter-pyroscope');
const { DatadogProfileExporter } = require('@spanprof/exporter-datadog');
const { startReceiver } = require('./helpers/receiver');
const { startTracing, resetTracing } = require('./helpers/otel');
const { captureDiag } = require('./helpers/diag');

const FAST = { timeoutMillis: 300, initialBackoffMillis: 20, maxBackoffMillis: 200, maxAttempts: 3 };

/** Each exporter, aimed at `base`; `requestsPerBatch` is how many requests one batch makes. */
const EXPORTERS = [
  {
    name: 'OTLP',
    requestsPerBatch: 1,
    make: (base, o) => new OTLPProfileExporter({ url: `${base}/v1development/profiles`, headers: { authorization: 'Bearer otlp-s3cret' }, ...o }),
  },
  {
    name: 'Pyroscope',
    requestsPerBatch: 2,
    make: (base, o) => new PyroscopeExporter({ serverAddress: base, basicAuthUser: 'u', basicAuthPassword: 'pyro-s3cret', ...o }),
  },
  { name: 'Datadog', requestsPerBatch: 1, make: (base, o) => new DatadogProfileExporter({ url: base, ...o }) },
];

let batch;
/** One real batch (wall with span labels, heap), captured from a profiling session. */
async function realBatch() {
  if (batch) return batch;
  const captured = [];
  const processor = new ProfilingSpanProcessor({
    exporter: { export: async (b) => (captured.push(b), { code: ExportResultCode.SUCCESS }), shutdown: async () => {} },
    samplingIntervalMicros: 1000,
  });
  const { provider } = startTracing([processor]);
  await provider.getTracer('t').startActiveSpan('work', async (span) => {
    await null;
    const end = performance.now() + 50;
    while (performance.now() < end);
    span.end();
  });
  await provider.shutdown();
  resetTracing();
  batch = captured[0];
  return batch;
}

/** How many of `refs` still hold their object after full garbage collections. */
async function reachableAfterGc(refs) {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

/** A URL nothing listens on. */
async function refusedUrl() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

// The exporters' timers are unref'd (they never hold a process open): stand in
// for the application that keeps the event loop alive.
let keepAlive;
beforeEach(() => {
  api.diag.disable();
  keepAlive = setInterval(() => {}, 1000);
});
afterEach(() => {
  clearInterval(keepAlive);
  api.diag.disable();
  resetTracing();
});

for (const kind of EXPORTERS) {
  test(`${kind.name}: refused connection is retried, then the export fails; nothing throws; one process warning for the outage`, async (t) => {
    const logs = captureDiag('debug');
    const warnings = [];
    const onWarning = (w) => {
      if (w.code === 'SPANPROF_W005' && w.message.includes(kind.name)) warnings.push(w.message);
    };
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const exporter = kind.make(await refusedUrl(), FAST);
    const result = await exporter.export(await realBatch());
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error.message, /http:\/\/127\.0\.0\.1:\d+\/\S*: network error ECONNREFUSED/, 'the URL that refused, named');
    const stats = exporter.stats();
    assert.equal(stats.failed, kind.requestsPerBatch);
    assert.equal(stats.retries, 2 * kind.requestsPerBatch, 'maxAttempts 3: two retries per request');
    assert.ok(!logs.join('\n').includes('s3cret'), 'no secret in the logs');
    // Said without a logger: once for the outage, with where the losses are counted.
    assert.equal((await exporter.export(await realBatch())).code, ExportResultCode.FAILED);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.length, 1, warnings.join(' | '));
    assert.match(warnings[0], /ECONNREFUSED.*the next ones are counted in \S+ stats\(\)\.failed/);
    assert.ok(!warnings[0].includes('s3cret'));
    await exporter.shutdown();
  });

  test(`${kind.name}: a server that never answers times out per attempt; shutdown keeps its deadline`, async () => {
    const receiver = await startReceiver(Array(10).fill('hang'));
    try {
      const exporter = kind.make(receiver.url, { ...FAST, maxAttempts: 2 });
      const started = Date.now();
      const result = await exporter.export(await realBatch());
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(result.error.message, /no answer within 300 ms/);
      assert.equal(receiver.requests.length, 2 * kind.requestsPerBatch);
      assert.ok(Date.now() - started < 3000 * kind.requestsPerBatch);

      // Shutdown with a request hanging: bounded by timeoutMillis.
      const pending = exporter.export(await realBatch());
      await receiver.waitFor(2 * kind.requestsPerBatch + 1);
      const t0 = Date.now();
      await exporter.shutdown();
      assert.ok(Date.now() - t0 < 1000, `shutdown took ${Date.now() - t0} ms`);
      assert.equal((await pending).code, ExportResultCode.FAILED);
      assert.equal((await exporter.export(await realBatch())).code, ExportResultCode.FAILED, 'no export after shutdown');
    } finally {
      await receiver.close();
    }
  });

  test(`${kind.name}: no batch stays reachable once its export settled (300 batches to a healthy server)`, async (t) => {
    // A backend that reads each request whole and keeps nothing.
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end());
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const exporter = kind.make(`http://127.0.0.1:${server.address().port}`, { maxQueuedRequests: 1000 });
      const real = await realBatch();
      const alive = [];
      const results = [];
      for (let i = 0; i < 300; i++) {
        // Each batch its own object with 64 KiB of its own: kept, it would show.
        const copy = { ...real, sequence: i, ballast: new Uint8Array(64 * 1024) };
        alive.push(new WeakRef(copy));
        results.push(exporter.export(copy));
      }
      for (const result of await Promise.all(results)) assert.equal(result.code, ExportResultCode.SUCCESS);
      const kept = await reachableAfterGc(alive);
      t.diagnostic(`figure [item 2]: ${kind.name}: ${kept} of 300 batches reachable after their exports settled (300 before the fix)`);
      assert.ok(kept <= 1, `${kept} of 300 batches still reachable after their exports settled`);
      await exporter.shutdown();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test(`${kind.name}: 500s then success is retried to success`, async () => {
    const receiver = await startReceiver([{ status: 500 }, { status: 503 }]);
    try {
      const logs = captureDiag('debug');
      const exporter = kind.make(receiver.url, FAST);
      const result = await exporter.export(await realBatch());
      assert.equal(result.code, ExportResultCode.SUCCESS);
      assert.equal(receiver.requests.length, 2 + kind.requestsPerBatch);
      assert.equal(exporter.stats().sent, kind.requestsPerBatch);
      assert.equal(exporter.stats().retries, 2);
      assert.ok(!logs.join('\n').includes('s3cret'));
      await exporter.shutdown();
    } finally {
      await receiver.close();
    }
  });

  test(`${kind.name}: 400 is not retried and is warned once with the body's first line`, async () => {
    const receiver = await startReceiver([
      { status: 400, body: 'invalid profile: bad label\nstack...' },
      { status: 400, body: 'again' },
      { status: 400 },
      { status: 400 },
    ]);
    try {
      const logs = captureDiag('debug');
      const exporter = kind.make(receiver.url, FAST);
      const first = await exporter.export(await realBatch());
      const second = await exporter.export(await realBatch());
      assert.equal(first.code, ExportResultCode.FAILED);
      assert.equal(second.code, ExportResultCode.FAILED);
      assert.equal(receiver.requests.length, 2 * kind.requestsPerBatch, 'one request each, no retry');
      const warned = logs.filter((l) => l.startsWith('warn') && l.includes('answered 400'));
      assert.equal(warned.length, 1, logs.join('\n'));
      assert.match(warned[0], /answered 400: invalid profile: bad label; not retried/);
      assert.ok(!warned[0].includes('stack...'));
      assert.ok(!logs.join('\n').includes('s3cret'));
      await exporter.shutdown();
    } finally {
      await receiver.close();
    }
  });
}

test('429 with Retry-After: the retry waits as long as the server asked', async () => {
  const receiver = await startReceiver([{ status: 429, headers: { 'retry-after': '1' } }]);
  try {
    const exporter = new OTLPProfileExporter({ url: `${receiver.url}/v1development/profiles`, ...FAST, maxBackoffMillis: 5000 });
    const result = await exporter.export(await realBatch());
    assert.equal(result.code, ExportResultCode.SUCCESS);
    const [a, b] = receiver.requests;
    assert.ok(b.at - a.at >= 950, `retried after ${b.at - a.at} ms`);
    await exporter.shutdown();
  } finally {
    await receiver.close();
  }
});

test('a bounded queue: with the backend hung, the oldest requests are dropped and counted', async () => {
  const receiver = await startReceiver(Array(20).fill('hang'));
  try {
    const exporter = new OTLPProfileExporter({ url: `${receiver.url}/v1development/profiles`, timeoutMillis: 2000, maxAttempts: 1, maxQueuedRequests: 2 });
    const b = await realBatch();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(exporter.export(b));
    await receiver.waitFor(1);
    // The first is in flight; of the five behind it only the two newest wait.
    const settled = await Promise.race([Promise.all(results.slice(1, 4)), new Promise((r) => setTimeout(r, 1500, 'timeout'))]);
    assert.notEqual(settled, 'timeout', 'dropped exports settle at once');
    for (const r of settled) assert.match(r.error.message, /dropped/);
    assert.equal(exporter.stats().dropped, 3);
    assert.equal(exporter.stats().queued, 3);
    await exporter.shutdown();
    assert.equal((await results[5]).code, ExportResultCode.FAILED);
  } finally {
    await receiver.close();
  }
});

test('the app keeps serving while its profiles go to a backend that hangs, and stays bounded', async () => {
  const receiver = await startReceiver(Array(1000).fill('hang'));
  const exporter = new OTLPProfileExporter({ url: `${receiver.url}/v1development/profiles`, timeoutMillis: 2000, maxQueuedRequests: 1 });
  const processor = new ProfilingSpanProcessor({ exporter, uploadPeriodMillis: 1000 });
  const { provider } = startTracing([processor]);
  const tracer = provider.getTracer('app');
  const app = http.createServer((req, res) => {
    tracer.startActiveSpan('handle', (span) => {
      setImmediate(() => {
        span.end();
        res.end('ok');
      });
    });
  });
  await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${app.address().port}/`;
    // Serve until the exporter has had to drop a batch (a collection per second,
    // one request hung in flight, one waiting): at most 15 s.
    const until = Date.now() + 15_000;
    let served = 0;
    let slowest = 0;
    while (Date.now() < until && (exporter.stats().dropped < 1 || served < 50)) {
      const t0 = performance.now();
      const res = await fetch(url);
      assert.equal(await res.text(), 'ok');
      slowest = Math.max(slowest, performance.now() - t0);
      served++;
    }
    assert.ok(served >= 50, `served ${served}`);
    assert.ok(slowest < 1000, `slowest request ${slowest.toFixed(0)} ms`);
    const stats = exporter.stats();
    assert.ok(stats.queued <= 2, `queue bounded: ${stats.queued}`);
    assert.ok(stats.dropped >= 1, `oldest dropped: ${stats.dropped}`);
    const t0 = Date.now();
    await provider.shutdown();
    assert.ok(Date.now() - t0 < 4000, `shutdown within the exporter's deadline: ${Date.now() - t0} ms`);
  } finally {
    app.closeAllConnections?.();
    await new Promise((resolve) => app.close(resolve));
    await receiver.close();
  }
});

test('exports make no spans of their own, even with fetch instrumented and called inside a span', async () => {
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const receiver = await startReceiver();
  const { provider, memory } = startTracing([]);
  const instrumentation = new UndiciInstrumentation();
  const unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
  try {
    const tracer = provider.getTracer('app');
    // Control: the app's own fetch is traced and propagates the context.
    await tracer.startActiveSpan('app-call', async (span) => {
      await (await fetch(`${receiver.url}/app`)).text();
      span.end();
    });
    assert.ok(receiver.requests[0].headers.traceparent, 'the instrumentation propagates on app requests');
    const spansBefore = memory.getFinishedSpans().length;
    assert.ok(spansBefore >= 2, 'the instrumentation makes client spans');

    const b = await realBatch();
    for (const kind of EXPORTERS) {
      const exporter = kind.make(receiver.url, FAST);
      await tracer.startActiveSpan('flush', async (span) => {
        assert.equal((await exporter.export(b)).code, ExportResultCode.SUCCESS);
        span.end();
      });
      await exporter.shutdown();
    }
    const exportRequests = receiver.requests.slice(1);
    assert.equal(exportRequests.length, 4);
    for (const r of exportRequests) assert.equal(r.headers.traceparent, undefined, `${r.url.pathname} carries no trace context`);
    assert.deepEqual(
      memory
        .getFinishedSpans()
        .slice(spansBefore)
        .map((s) => s.name),
      ['flush', 'flush', 'flush'],
      'only the app spans, no client span per export',
    );
  } finally {
    unregister();
    instrumentation.disable();
    await receiver.close();
  }
});

test('no secret reaches the logs: credentials and tokens in URLs, an invalid header value', async () => {
  const logs = captureDiag('debug');
  const base = await refusedUrl();
  const withSecrets = base.replace('http://', 'http://user:pw-s3cret@');
  const exporter = new OTLPProfileExporter({
    url: `${withSecrets}/v1development/profiles?api_key=q-s3cret`,
    headers: { authorization: 'Bearer h-s3cret\nx', 'x-ok': '1' },
    ...FAST,
  });
  const result = await exporter.export(await realBatch());
  assert.equal(result.code, ExportResultCode.FAILED);
  assert.match(result.error.message, /ECONNREFUSED/, 'the request itself went out (the invalid header was left out)');
  const pyro = new PyroscopeExporter({ serverAddress: withSecrets.replace('pw-s3cret', 'p%zz-s3cret'), ...FAST });
  assert.equal((await pyro.export(await realBatch())).code, ExportResultCode.FAILED);
  const text = logs.join('\n') + result.error.message;
  assert.match(text, /header "authorization": not a valid HTTP header/);
  assert.ok(!text.includes('s3cret'), text);
  await exporter.shutdown();
  await pyro.shutdown();
});

test('the session hands an owning exporter every batch, waits for it at most exportTimeoutMillis, and still bounds the others', async () => {
  const owningCalls = [];
  const owning = {
    boundsOwnQueue: true,
    export: (b) => new Promise((resolve) => owningCalls.push({ b, resolve })), // never answers by itself
    shutdown: async () => {
      for (const c of owningCalls) c.resolve({ code: ExportResultCode.FAILED, error: new Error('shut down') });
    },
  };
  let plainShutdown = 0;
  const plainCalls = [];
  const plain = { export: (b) => new Promise(() => plainCalls.push(b)), shutdown: async () => void plainShutdown++ };
  const processor = new ProfilingSpanProcessor({ exporter: [owning, plain], exportTimeoutMillis: 300, minFlushIntervalMillis: 0 });
  startTracing([processor]);
  for (let i = 0; i < 4; i++) {
    const t0 = Date.now();
    await processor.forceFlush();
    assert.ok(Date.now() - t0 < 2000, `flush ${i} bounded: ${Date.now() - t0} ms`);
  }
  assert.equal(owningCalls.length, 4, 'every batch, past the cap of two in flight');
  assert.equal(plainCalls.length, 2, 'the plain exporter keeps the cap of two');
  assert.equal(processor.stats().droppedBatches, 2);
  const t0 = Date.now();
  await processor.shutdown();
  assert.ok(Date.now() - t0 < 3000, `shutdown bounded: ${Date.now() - t0} ms`);
  assert.equal(owningCalls.length, 5, 'the last batch too');
  assert.equal(plainShutdown, 1, 'the plain exporter is shut down');
});
