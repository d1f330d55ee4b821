'use strict';
// On AsyncContextFrame SpanprofContextManager keeps its contexts in the
// profiler's storage (one frame entry per switch carries both the OpenTelemetry
// context and the sample context). It must behave as the stock manager,
// continuations created before profiling or under a profiler since stopped must
// keep their context, and a context entered again under a new profiler must label
// its samples (fixtures/context-storage.js). The stock manager, wrapped, and the
// host's Node 20 (async_hooks, the manager tells spanprof of every switch) must
// behave the same.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { node24, otel3Fixture } = require('./helpers/runtimes');

function run(node, script, args = []) {
  const out = execFileSync(node, ['--expose-gc', script, ...args], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop());
}

function check(result, mode) {
  assert.deepEqual(result.modes, [mode, mode]);
  for (const [name, ok] of Object.entries(result.checks)) assert.equal(ok, true, name);
  assert.ok(Object.keys(result.checks).length >= 8, Object.keys(result.checks).join(', '));
  for (const [name, r] of Object.entries(result.samples)) {
    assert.ok(r.samples >= 50, `${name}: only ${r.samples} samples`);
    assert.equal(r.labelled, r.samples, `${name}: ${r.labelled} of ${r.samples} samples carry the span`);
  }
}

test('Node 24, OpenTelemetry 3.x: SpanprofContextManager behaves as the stock manager, across profiler restarts', () => {
  const dir = otel3Fixture();
  check(run(node24(), path.join(dir, 'fixtures', 'context-storage.js')), 'spanprof');
});

test("Node 24, OpenTelemetry 3.x: the SDK's stock manager, wrapped, the same", () => {
  const dir = otel3Fixture();
  check(run(node24(), path.join(dir, 'fixtures', 'context-storage.js'), ['--stock']), 'wrapped');
});

test('host runtime: the same checks on async_hooks', { skip: !process.version.startsWith('v20.') && 'host is not Node 20' }, () => {
  check(run(process.execPath, path.join(__dirname, 'fixtures', 'context-storage.js')), 'spanprof');
});
