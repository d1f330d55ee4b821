'use strict';
// Target: at least 99.5% of the samples taken inside a span's own code carry
// exactly that span and its local root, on every pattern, on Node 20 with the
// OpenTelemetry 2.x line and on Node 24 and 26 with the 3.x line, with
// SpanprofContextManager registered (as the README says) and with the SDK's
// stock manager (which spanprof wraps). Node 22 runs both ways its
// AsyncContextFrame can be: off by default (spanprof must see that and track
// with async_hooks, or it would label nothing) and on by its flag.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { node22, node24, node26, otel3Fixture } = require('./helpers/runtimes');

const TARGET = 0.995;
const MIN_SAMPLES = 300;
const artifacts = path.join(__dirname, 'artifacts');

function run(node, script, args, name, nodeFlags = []) {
  const out = execFileSync(node, [...nodeFlags, script, ...args], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'inherit'] });
  const result = JSON.parse(out.trim().split('\n').pop());
  fs.mkdirSync(artifacts, { recursive: true });
  fs.writeFileSync(path.join(artifacts, `accuracy-${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

function check(result, strategy, line, contextManager = 'spanprof', inWorker = false) {
  assert.equal(result.strategy, strategy);
  assert.equal(result.thread !== 0, inWorker, inWorker ? 'ran on the main thread' : 'ran on a worker');
  // SpanprofContextManager is connected to; any other manager (the stock one too) is wrapped.
  assert.equal(result.contextManager, contextManager);
  assert.equal(result.line, line);
  assert.equal(Object.keys(result.patterns).length, 15);
  const report = Object.entries(result.patterns)
    .map(([name, r]) => `${name}: ${(100 * r.accuracy).toFixed(2)}% of ${r.samples}`)
    .join('\n');
  for (const [name, r] of Object.entries(result.patterns)) {
    assert.ok(r.samples >= MIN_SAMPLES, `${name}: only ${r.samples} samples\n${report}`);
    assert.ok(r.accuracy >= TARGET, `${name}: ${(100 * r.accuracy).toFixed(2)}% < 99.5%\n${report}`);
    assert.equal(r.wrongThread, 0, `${name}: samples without thread_id ${result.thread}`);
  }
}

test('Node 20 host, OpenTelemetry 2.x, async_hooks tracking', { skip: !process.version.startsWith('v20.') && 'host is not Node 20' }, () => {
  const result = run(process.execPath, path.join(__dirname, 'fixtures', 'accuracy.js'), [], 'node20-otel2');
  check(result, 'async-hooks', 2);
});

test('Node 24, OpenTelemetry 3.x, AsyncContextFrame tracking', () => {
  const dir = otel3Fixture();
  const result = run(node24(), path.join(dir, 'fixtures', 'accuracy.js'), [], 'node24-otel3');
  check(result, 'async-frame', 3);
});

test(
  'Node 20, OpenTelemetry 2.x, in a worker thread: async_hooks tracking, every sample on that thread',
  { skip: !process.version.startsWith('v20.') && 'host is not Node 20' },
  () => {
    const result = run(process.execPath, path.join(__dirname, 'fixtures', 'accuracy.js'), ['--in-worker'], 'node20-otel2-worker');
    check(result, 'async-hooks', 2, 'spanprof', true);
  },
);

test('Node 24, OpenTelemetry 3.x, in a worker thread: AsyncContextFrame tracking, every sample on that thread', () => {
  const dir = otel3Fixture();
  const result = run(node24(), path.join(dir, 'fixtures', 'accuracy.js'), ['--in-worker'], 'node24-otel3-worker');
  check(result, 'async-frame', 3, 'spanprof', true);
});

test("Node 24, OpenTelemetry 3.x, AsyncContextFrame tracking, the SDK's stock context manager (wrapped)", () => {
  const dir = otel3Fixture();
  const result = run(node24(), path.join(dir, 'fixtures', 'accuracy.js'), ['--manager', 'stock'], 'node24-otel3-stock-manager');
  check(result, 'async-frame', 3, 'wrapped');
});

test('Node 26, OpenTelemetry 3.x, AsyncContextFrame tracking', () => {
  const dir = otel3Fixture();
  const result = run(node26(), path.join(dir, 'fixtures', 'accuracy.js'), [], 'node26-otel3');
  assert.match(result.node, /^v26\./);
  check(result, 'async-frame', 3);
});

test("Node 22 without its AsyncContextFrame flag, OpenTelemetry 2.x, the SDK's stock context manager: async_hooks tracking, wrapped", () => {
  const result = run(node22(), path.join(__dirname, 'fixtures', 'accuracy.js'), ['--manager', 'stock'], 'node22-otel2-stock-manager');
  assert.match(result.node, /^v22\./);
  check(result, 'async-hooks', 2, 'wrapped');
});

test('Node 24, OpenTelemetry 3.x, async_hooks tracking forced', () => {
  const dir = otel3Fixture();
  const result = run(node24(), path.join(dir, 'fixtures', 'accuracy.js'), ['--tracking', 'async-hooks'], 'node24-otel3-async-hooks');
  check(result, 'async-hooks', 3);
});

test('Node 22 without its AsyncContextFrame flag, OpenTelemetry 2.x: async_hooks tracking chosen', () => {
  const result = run(node22(), path.join(__dirname, 'fixtures', 'accuracy.js'), [], 'node22-otel2');
  assert.match(result.node, /^v22\./);
  check(result, 'async-hooks', 2);
});

test('Node 22 with --experimental-async-context-frame, OpenTelemetry 3.x: AsyncContextFrame tracking chosen', () => {
  const dir = otel3Fixture();
  const result = run(node22(), path.join(dir, 'fixtures', 'accuracy.js'), [], 'node22-otel3-frame', ['--experimental-async-context-frame']);
  assert.match(result.node, /^v22\./);
  check(result, 'async-frame', 3);
});
