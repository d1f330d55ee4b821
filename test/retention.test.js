'use strict';
// Ended spans' label data is not retained beyond a fixed bound on any tracking
// strategy (fixtures/retention.js): none with SpanprofContextManager on any
// runtime; in async-frame mode with another manager (wrapped) a ring of recent
// spans keeps their reusable context holders (at most 4096 label objects), and
// those holders stay with their own span (fixtures/frames.js, run both ways).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { node24, otel3Fixture } = require('./helpers/runtimes');

// Beyond the ring: the contexts of samples taken in the current period (kept by
// the profiler until the collection) and the last few frames.
const SLACK = 64;
const BOUND = 4096 + SLACK;

function run(node, script, args) {
  const out = execFileSync(node, ['--expose-gc', script, ...args], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop());
}

test('host runtime: label objects of ended spans are collected', () => {
  const r = run(process.execPath, path.join(__dirname, 'fixtures', 'retention.js'), []);
  assert.ok(r.alive <= (r.strategy === 'async-hooks' ? SLACK : BOUND), `${r.alive} of ${r.spans} label objects alive (${r.strategy})`);
});

// SpanprofContextManager keeps no label object; a wrapped manager's holder ring keeps at most 4096.
for (const [manager, args, bound] of [
  ['spanprof', [], SLACK],
  ['wrapped', ['--other-manager'], BOUND],
]) {
  test(`Node 24, AsyncContextFrame (${manager}): label objects of ended spans are collected, up to ${bound}`, () => {
    const dir = otel3Fixture();
    const r = run(node24(), path.join(dir, 'fixtures', 'retention.js'), args);
    assert.equal(r.strategy, 'async-frame');
    assert.equal(r.contextManager, manager);
    assert.ok(r.alive <= bound, `${r.alive} of ${r.spans} label objects alive`);
  });
}

test('Node 24, async_hooks forced: label objects of ended spans are collected', () => {
  const dir = otel3Fixture();
  const r = run(node24(), path.join(dir, 'fixtures', 'retention.js'), ['--async-hooks']);
  assert.equal(r.strategy, 'async-hooks');
  assert.ok(r.alive <= SLACK, `${r.alive} of ${r.spans} label objects alive`);
});

for (const [manager, args] of [
  ['spanprof', []],
  ['wrapped', ['--other-manager']],
]) {
  test(`Node 24, AsyncContextFrame (${manager}): the sample context stays with its own span (nested first switches, exceptions)`, () => {
    const dir = otel3Fixture();
    const out = execFileSync(node24(), [path.join(dir, 'fixtures', 'frames.js'), ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = JSON.parse(out.trim().split('\n').pop());
    assert.equal(r.strategy, 'async-frame');
    assert.equal(r.contextManager, manager);
    assert.ok(Object.keys(r.checks).length >= 8);
    for (const [name, ok] of Object.entries(r.checks)) assert.equal(ok, true, `${name}: ${JSON.stringify(r.checks)}`);
  });
}
