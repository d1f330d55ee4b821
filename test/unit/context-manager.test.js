'use strict';
// SpanprofContextManager on its own: the ContextManager contract (as the stock
// AsyncLocalStorageContextManager keeps it), and what a profiler hooks into it,
// driven by a fake holder factory (an AsyncLocalStorage of its own and plain
// objects for holders) instead of @datadog/pprof's. The profiler's end of it,
// with pprof's real storage, is in test/context-storage.test.js and the
// accuracy tests.
const { test, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { AsyncLocalStorage } = require('node:async_hooks');
const { EventEmitter } = require('node:events');
const { setImmediate: immediate } = require('node:timers/promises');
const api = require('@opentelemetry/api');
const { LocalRoot, SpanLabels, SpanprofContextManager, setSpanLabels } = require('@spanprof/core');

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const key = api.createContextKey('k');

afterEach(() => api.context.disable());

/** A holder factory as the profiler's: its own storage, and the holders it made. */
function fakeHolders() {
  const factory = {
    key: new AsyncLocalStorage(),
    made: [],
    holder(value) {
      const holder = { value };
      factory.made.push(holder);
      return holder;
    },
    runWithNewHolder(value, fn) {
      const holder = factory.holder(value);
      return factory.key.run(holder, () => fn(holder));
    },
  };
  return factory;
}

let nextSpan = 1;
/** A context whose span is labelled for spanprof, as the span processor labels it. */
function labelledContext() {
  const spanId = (nextSpan++).toString(16).padStart(16, '0');
  const span = api.trace.wrapSpanContext({ spanId, traceId: TRACE, traceFlags: api.TraceFlags.SAMPLED });
  const labels = new SpanLabels(spanId, TRACE, new LocalRoot(spanId, 'GET'));
  setSpanLabels(span, labels);
  return { ctx: api.trace.setSpan(api.ROOT_CONTEXT, span), labels };
}

/** The contract, on a manager in any of its states. */
async function checkContract(manager) {
  const a = api.ROOT_CONTEXT.setValue(key, 'a');
  const b = a.setValue(key, 'b');
  assert.equal(manager.active(), api.ROOT_CONTEXT, 'ROOT_CONTEXT outside any with');
  assert.equal(
    manager.with(a, () => manager.with(b, () => manager.active()) === b && manager.active() === a),
    true,
    'nested with: inner, then outer again',
  );
  assert.equal(
    manager.with(
      a,
      function (x, y) {
        return this.tag === 't' && x === 1 && y === 2;
      },
      { tag: 't' },
      1,
      2,
    ),
    true,
    'thisArg and arguments',
  );
  assert.equal(
    manager.with(a, () => manager.with(undefined, () => manager.active())),
    api.ROOT_CONTEXT,
    'with(undefined) reads ROOT_CONTEXT',
  );
  const frozen = Object.freeze(a.setValue(key, 'frozen'));
  assert.equal(
    manager.with(frozen, () => manager.active()),
    frozen,
    'a frozen context',
  );
  const refuse = () => {
    throw new Error('refused');
  };
  const hostile = new Proxy(a.setValue(key, 'proxy'), { set: refuse, defineProperty: refuse, preventExtensions: refuse });
  assert.equal(
    manager.with(hostile, () => manager.active()),
    hostile,
    'a context that throws when extended',
  );
  assert.equal(await manager.with(a, async () => (await immediate(), manager.active())), a, 'across an await');
  assert.equal(manager.with(a, () => manager.bind(b, () => manager.active()))(), b, 'bind(function)');
  const emitter = manager.bind(a, new EventEmitter());
  let seen;
  emitter.on('x', () => (seen = manager.active()));
  manager.with(b, () => emitter.emit('x'));
  assert.equal(seen, a, 'bind(EventEmitter)');
  manager.with(a, () => {
    const token = manager.attach(b);
    const attached = manager.active();
    token.dispose();
    token.dispose();
    assert.equal(attached, b, 'attach');
    assert.equal(manager.active(), a, 'dispose restores, once');
  });
  assert.throws(
    () =>
      manager.with(a, () => {
        throw new Error('thrown');
      }),
    /thrown/,
  );
  assert.equal(manager.active(), api.ROOT_CONTEXT, 'a throw leaves the context as it was');
}

test('without a profiler it keeps the ContextManager contract', async () => {
  await checkContract(new SpanprofContextManager().enable());
});

test("carrying holders: one frame holds the context and its span's holder, made once per context", async () => {
  const manager = new SpanprofContextManager().enable();
  const holders = fakeHolders();
  manager.carryHolders(holders);
  const { ctx, labels } = labelledContext();
  const first = manager.with(ctx, () => holders.key.getStore());
  assert.equal(first.value, labels, "the holder's sample context is the span's labels");
  assert.equal(first.c, ctx, 'and the record holds the context');
  assert.equal(
    manager.with(ctx, () => holders.key.getStore()),
    first,
    'entered again: the same holder',
  );
  assert.equal(holders.made.length, 1);
  const plain = api.ROOT_CONTEXT.setValue(key, 'no span');
  assert.equal(manager.with(plain, () => holders.key.getStore()).value, undefined, 'no span: no holder');
  assert.equal(holders.made.length, 1);
  assert.equal(await manager.with(ctx, async () => (await immediate(), holders.key.getStore())), first, 'a continuation carries the holder');
  const attachedTo = labelledContext();
  manager.with(plain, () => {
    const token = manager.attach(attachedTo.ctx);
    assert.equal(holders.key.getStore().value, attachedTo.labels, "attach: the attached span's holder");
    assert.equal(manager.active(), attachedTo.ctx);
    token.dispose();
    assert.equal(manager.active(), plain);
  });
  await checkContract(manager);
});

test('a continuation created before the holders keeps its context; a new profiler makes its own holders', async () => {
  const manager = new SpanprofContextManager().enable();
  const { ctx } = labelledContext();
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const before = manager.with(ctx, () => gate.then(() => manager.active()));
  const first = fakeHolders();
  manager.carryHolders(first);
  const held = manager.with(ctx, () => first.key.getStore());
  const gate2 = new Promise((resolve) => setImmediate(resolve));
  const underFirst = manager.with(ctx, () => gate2.then(() => manager.active()));
  release();
  assert.equal(await before, ctx, 'made before the holders');
  const second = fakeHolders();
  const storage = manager.carryHolders(second);
  assert.equal(await underFirst, ctx, 'made under the first profiler, read under the second');
  const again = manager.with(ctx, () => second.key.getStore());
  assert.notEqual(again, held, "the second profiler never enters the first one's holder");
  assert.equal(second.made.length, 1);
  storage.detach();
  const other = labelledContext().ctx;
  assert.equal(
    manager.with(other, () => manager.active()),
    other,
  );
  assert.equal(second.made.length, 1, 'detached: no holders made');
});

test('an observer is told of every switch and attach', () => {
  const manager = new SpanprofContextManager().enable();
  const told = [];
  manager.observe({
    switchTo(ctx, enter) {
      told.push(['switch', ctx.getValue(key)]);
      return enter();
    },
    attached(ctx) {
      told.push(['attached', ctx.getValue(key)]);
    },
  });
  const a = api.ROOT_CONTEXT.setValue(key, 'a');
  const b = api.ROOT_CONTEXT.setValue(key, 'b');
  assert.equal(
    manager.with(a, (x) => x + manager.active().getValue(key), undefined, '>'),
    '>a',
  );
  manager.with(a, () => manager.attach(b).dispose());
  assert.deepEqual(told, [
    ['switch', 'a'],
    ['switch', 'a'],
    ['attached', 'b'],
    ['attached', 'a'],
  ]);
  manager.observe(undefined);
  manager.with(a, () => {});
  assert.equal(told.length, 4);
});

test('registered: found through the API while it is the global manager, not after disable', () => {
  const manager = new SpanprofContextManager();
  const unregistered = new SpanprofContextManager();
  assert.equal(manager.isRegistered(), false);
  api.context.setGlobalContextManager(manager.enable());
  assert.equal(manager.isRegistered(), true);
  assert.equal(unregistered.isRegistered(), false);
  api.context.disable();
  assert.equal(manager.isRegistered(), false);
});

test('an observer with enter and leave is told around each switch, a throw included, with no switchTo', () => {
  const manager = new SpanprofContextManager().enable();
  const told = [];
  manager.observe({
    switchTo() {
      throw new Error('not to be called when enter and leave are there');
    },
    enter(ctx) {
      told.push(['enter', ctx.getValue(key)]);
      return ctx.getValue(key);
    },
    leave(entered) {
      told.push(['leave', entered]);
    },
    attached() {},
  });
  const a = api.ROOT_CONTEXT.setValue(key, 'a');
  assert.equal(
    manager.with(a, (x) => x + manager.active().getValue(key), undefined, '>'),
    '>a',
  );
  assert.throws(() =>
    manager.with(a, () => {
      throw new Error('thrown');
    }),
  );
  assert.deepEqual(told, [
    ['enter', 'a'],
    ['leave', 'a'],
    ['enter', 'a'],
    ['leave', 'a'],
  ]);
});
