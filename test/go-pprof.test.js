'use strict';
// FileExporter output in standard pprof tooling: `go tool pprof -tagfocus` must
// show a span's own functions. Go comes from Debian's golang-go (.ci/run installs
// it); on a machine without it the test is skipped, except in CI where it fails.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { FileExporter } = require('@spanprof/core');
const { startTracing } = require('./helpers/otel');

const hasGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
const skip = !hasGo && process.env.CI !== 'true' && 'go is not installed (apt-get install golang-go)';

function inventoryTotals(ms) {
  const end = performance.now() + ms;
  let x = 1;
  while (performance.now() < end) x = (x * 48271) % 2147483647;
  return x;
}
function shippingQuote(ms) {
  const end = performance.now() + ms;
  let x = 1;
  while (performance.now() < end) x = (x * 16807) % 2147483647;
  return x;
}

function pprof(...args) {
  const r = spawnSync('go', ['tool', 'pprof', ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("go tool pprof -tagfocus=span_id=<id> shows that span's functions", { skip }, async () => {
  assert.ok(hasGo, 'go must be installed in CI');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-go-'));
  const processor = new ProfilingSpanProcessor({ exporter: new FileExporter({ directory: dir }), samplingIntervalMicros: 1000, heap: false });
  const { provider } = startTracing([processor]);
  const tracer = provider.getTracer('t');
  const ids = {};
  /** A span that burns CPU in `hot` in ten slices, interleaved with the other span. */
  const busySpan = (name, hot) =>
    tracer.startActiveSpan(name, async (s) => {
      ids[name] = s.spanContext().spanId;
      for (let i = 0; i < 10; i++) {
        hot(15);
        await new Promise((r) => setImmediate(r));
      }
      s.end();
    });
  await Promise.all([busySpan('inventory', inventoryTotals), busySpan('shipping', shippingQuote)]);
  await provider.shutdown();
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
  const file = files.find((f) => f.endsWith('.wall.pb.gz'));
  const events = files.find((f) => f.endsWith('.events.pb.gz'));

  const inventory = pprof(`-tagfocus=span_id=${ids.inventory}`, '-sample_index=cpu', '-top', file);
  assert.match(inventory, /inventoryTotals/);
  assert.doesNotMatch(inventory, /shippingQuote/);
  const shipping = pprof(`-tagfocus=span_id=${ids.shipping}`, '-sample_index=wall', '-top', file);
  assert.match(shipping, /shippingQuote/);
  assert.doesNotMatch(shipping, /inventoryTotals/);

  const tags = pprof('-tags', file);
  for (const label of ['span_id', 'local_root_span_id', 'trace_id', 'trace_endpoint']) assert.match(tags, new RegExp(`^ ?${label}:`, 'm'));
  assert.match(pprof('-comments', file), /spanprof:process\.pid=\d+/);

  // The events profile opens too: its spans by name, their durations the `duration` sample type.
  const spans = pprof('-sample_index=duration', '-top', events);
  assert.match(spans, /inventory/);
  assert.match(spans, /shipping/);
  assert.match(pprof(`-tagfocus=span_id=${ids.inventory}`, '-sample_index=duration', '-top', events), /inventory/);
});
