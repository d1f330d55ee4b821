'use strict';
// Sets tracing up the way users do on either OpenTelemetry JS line:
// 2.x: NodeTracerProvider.register() (stock AsyncLocalStorageContextManager);
// 3.x: TracerProvider + the AsyncLocalStorageContextManager NodeSDK installs.
const api = require('@opentelemetry/api');

function sdkLine() {
  try {
    require.resolve('@opentelemetry/sdk-trace-node');
    return 2;
  } catch {
    return 3;
  }
}

/** Forgets the global tracer provider, context manager and propagator, so a test can register its own. */
function resetTracing() {
  api.trace.disable();
  api.context.disable();
  api.propagation.disable();
}

/**
 * Starts tracing with `spanProcessors` plus an in-memory exporter of all ended spans.
 * `manager`: the context manager registered: `spanprof` (SpanprofContextManager, as the
 * README says to register), `stock` (the SDK's default AsyncLocalStorageContextManager,
 * which spanprof wraps), or `other` (a manager spanprof does not know, also wrapped).
 * `otherManager: true` is `manager: 'other'`.
 */
function startTracing(spanProcessors, { manager = 'spanprof', otherManager = false } = {}) {
  resetTracing();
  const { W3CTraceContextPropagator } = require('@opentelemetry/core');
  const line = sdkLine();
  const contextManager = makeContextManager(otherManager ? 'other' : manager);
  let provider;
  let memory;
  if (line === 2) {
    const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
    const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
    memory = new InMemorySpanExporter();
    provider = new NodeTracerProvider({ spanProcessors: [...spanProcessors, new SimpleSpanProcessor(memory)] });
    provider.register({ contextManager });
  } else {
    const { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } = require('@opentelemetry/sdk-trace');
    memory = new InMemorySpanExporter();
    // 3.x processors take an options object.
    provider = new TracerProvider({ spanProcessors: [...spanProcessors, new SimpleSpanProcessor({ exporter: memory })] });
    api.context.setGlobalContextManager(contextManager.enable());
    api.trace.setGlobalTracerProvider(provider);
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  return { line, provider, memory };
}

/** A context manager of the kind `startTracing` registers. */
function makeContextManager(kind) {
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  if (kind === 'spanprof') return new (require('@spanprof/core').SpanprofContextManager)();
  if (kind === 'stock') return new AsyncLocalStorageContextManager();
  if (kind !== 'other') throw new Error(`unknown context manager ${kind}`);
  // A manager that works like the stock one under another name.
  class OtherContextManager extends AsyncLocalStorageContextManager {}
  return new OtherContextManager();
}

/** span ID → its local root's span ID, from ended spans alone (walks local parents). */
function localRoots(finishedSpans) {
  const parentOf = new Map();
  for (const s of finishedSpans) {
    const parent = s.parentSpanContext;
    parentOf.set(s.spanContext().spanId, parent && !parent.isRemote ? parent.spanId : undefined);
  }
  const roots = new Map();
  for (const id of parentOf.keys()) {
    let cur = id;
    while (parentOf.get(cur) !== undefined && parentOf.has(parentOf.get(cur))) cur = parentOf.get(cur);
    roots.set(id, cur);
  }
  return roots;
}

module.exports = { makeContextManager, startTracing, resetTracing, localRoots, sdkLine };
