'use strict';
// What spanprof adds to the OpenTelemetry operations it hooks, in nanoseconds per
// operation: context.with() that keeps the same span, context.with() that switches
// span, tracer.startSpan() + end(), tracer.startActiveSpan() + end(); and to the I/O
// calls its events wrap, inside an active span: fs.stat with a callback, fs.promises.stat
// (the main thread's CPU time per call, 500 at a time; Node 20 cannot tell the thread pool's
// apart, so its figures include the pool's stat). Measured in two child processes of the same binary, tracing only and tracing
// plus a ProfilingSpanProcessor (heap profile off: it samples allocations, not operations).
//
// A third process runs spanprof without its I/O and GC events: the last column is what they add.
//
//   node bench/operation-costs.js [--rounds 3]
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const CASES = ['with, same span', 'with, span switch', 'startSpan + end', 'startActiveSpan + end', 'fs.stat (callback)', 'fs.promises.stat'];

function child(mode, rounds) {
  const on = mode !== 'off';
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const api = require('@opentelemetry/api');
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const processors = [];
  if (on) {
    const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
    const { FileExporter } = require('@spanprof/core');
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-opcost-'));
    // lean: without the I/O and GC events (what they add to an fs call is on - lean).
    processors.push(new ProfilingSpanProcessor({ exporter: new FileExporter({ directory }), heap: false, events: mode === 'lean' ? false : undefined }));
  }
  const provider = new NodeTracerProvider({ spanProcessors: processors });
  provider.register();
  const tracer = api.trace.getTracer('bench');
  const parent = tracer.startSpan('parent');
  const ctx = api.trace.setSpan(api.ROOT_CONTEXT, parent);
  const ctx2 = api.trace.setSpan(ctx, tracer.startSpan('child', {}, ctx));
  let sink = 0;
  const leaf = () => {
    sink++;
  };
  const inner = () => api.context.with(ctx2, leaf);
  const sameInner = () => api.context.with(ctx, leaf);
  // Each body is one operation measured on top of one outer switch into `ctx`,
  // which is measured alone and subtracted.
  const bodies = {
    outer: () => api.context.with(ctx, leaf),
    'with, same span': () => api.context.with(ctx, sameInner),
    'with, span switch': () => api.context.with(ctx, inner),
    'startSpan + end': () => tracer.startSpan('op', {}, ctx).end(),
    'startActiveSpan + end': () => tracer.startActiveSpan('op', {}, ctx, (span) => span.end()),
  };
  const n = 500000;
  const result = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(bodies)) {
      for (let i = 0; i < n / 10; i++) fn();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn();
      const ns = Number(process.hrtime.bigint() - t0) / n;
      result[name] = Math.min(result[name] ?? Infinity, ns);
    }
  }
  result['with, same span'] -= result.outer;
  result['with, span switch'] -= result.outer;
  // I/O inside the parent span (events record its span): 500 calls at a time, the main thread's
  // CPU time per call (the thread pool's work is not counted where Node can tell them apart).
  const io = {
    'fs.stat (callback)': () => new Promise((resolve) => fs.stat(__filename, resolve)),
    'fs.promises.stat': () => fs.promises.stat(__filename),
  };
  const threadCpu = () => {
    const { user, system } = typeof process.threadCpuUsage === 'function' ? process.threadCpuUsage() : process.cpuUsage();
    return (user + system) * 1000;
  };
  const batches = 40;
  const batch = 500;
  api.context.with(ctx, async () => {
    for (let r = 0; r < rounds; r++) {
      for (const [name, fn] of Object.entries(io)) {
        for (let i = 0; i < 4; i++) await Promise.all(Array.from({ length: batch }, fn));
        const t0 = threadCpu();
        for (let i = 0; i < batches; i++) await Promise.all(Array.from({ length: batch }, fn));
        const ns = (threadCpu() - t0) / (batches * batch);
        result[name] = Math.min(result[name] ?? Infinity, ns);
      }
    }
    process.stdout.write(JSON.stringify({ result, sink: sink > 0 }));
    await provider.shutdown();
  });
}

if (process.argv[2] === '--child') {
  child(process.argv[3], Number(process.argv[4]));
} else {
  const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
  const run = (mode) => JSON.parse(execFileSync(process.execPath, [__filename, '--child', mode, args.rounds], { encoding: 'utf8' })).result;
  const off = run('off');
  const on = run('on');
  const lean = run('lean');
  console.log(`spanprof cost per OpenTelemetry operation, Node ${process.version} (best of ${args.rounds} rounds)`);
  console.log('| operation | tracing only | + spanprof | added | + spanprof without events | added by the events |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const name of CASES) {
    console.log(
      `| ${name} | ${off[name].toFixed(0)} ns | ${on[name].toFixed(0)} ns | +${(on[name] - off[name]).toFixed(0)} ns | ${lean[name].toFixed(0)} ns | ${(on[name] - lean[name]).toFixed(0)} ns |`,
    );
  }
}
