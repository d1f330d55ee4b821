'use strict';
// The benchmarked service: node:http with OpenTelemetry's HTTP instrumentation and
// a batch span processor (spans are built and batched, then dropped), plus
// spanprof's ProfilingSpanProcessor at its defaults when MODE=spanprof
// (CONTEXT_TRACKING, SAMPLING_INTERVAL_MICROS, UPLOAD_PERIOD_MILLIS, CPU_TIME=0,
// HEAP=0 and HEAP_INTERVAL_BYTES override those options, to take the cost apart).
// MODE=samplers: tracing plus @datadog/pprof's profilers started and collected
// as spanprof drives them, without spanprof (same overrides; see startSamplers).
// MODE=dd-trace: the same handler traced by dd-trace instead of the OpenTelemetry
// SDK, loaded from BENCH_DD_TRACE_MODULE (a dd-trace package directory) and configured
// by its DD_* environment (DD_PROFILING_ENABLED turns its profiler on).
// Prints {"port":N} when listening. GET /__stats answers with peak RSS and, in
// spanprof mode, the profiler's figures after a forced collection.
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { mainThreadCpuNanos } = require('./main-thread-cpu');
const api = require('@opentelemetry/api');

const mode = process.env.MODE ?? 'tracing';
let profilesDir = process.env.PROFILES_DIR;
function createProfiler() {
  const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
  const { FileExporter } = require('@spanprof/core');
  profilesDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-bench-'));
  return new ProfilingSpanProcessor({
    exporter: new FileExporter({ directory: profilesDir }),
    samplingIntervalMicros: process.env.SAMPLING_INTERVAL_MICROS ? Number(process.env.SAMPLING_INTERVAL_MICROS) : undefined,
    uploadPeriodMillis: process.env.UPLOAD_PERIOD_MILLIS ? Number(process.env.UPLOAD_PERIOD_MILLIS) : undefined,
    contextTracking: process.env.CONTEXT_TRACKING,
    heap: process.env.HEAP === '0' ? false : process.env.HEAP_INTERVAL_BYTES ? { intervalBytes: Number(process.env.HEAP_INTERVAL_BYTES) } : true,
    cpuTime: process.env.CPU_TIME !== '0',
    // EVENTS=0, BLOCKS=0, SOURCE_MAPS=0: without the I/O and GC events, the event-loop block monitor, source maps.
    // BLOCK_THRESHOLD_MILLIS, EVENT_THRESHOLD_MILLIS: scaled up where everything runs slower (callgrind).
    events:
      process.env.EVENTS === '0' ? false : process.env.EVENT_THRESHOLD_MILLIS ? { thresholdMillis: Number(process.env.EVENT_THRESHOLD_MILLIS) } : undefined,
    blockThresholdMillis: process.env.BLOCKS === '0' ? 0 : process.env.BLOCK_THRESHOLD_MILLIS ? Number(process.env.BLOCK_THRESHOLD_MILLIS) : undefined,
    sourceMaps: process.env.SOURCE_MAPS === '0' ? false : undefined,
  });
}

/**
 * MODE=samplers: @datadog/pprof's wall/CPU and heap profilers started exactly as
 * spanprof's ProfilerSession starts them (same options, same copy of pprof) and
 * collected every upload period as it does (wall profile stopped and restarted,
 * heap profile a tick later, both encoded), but with no sample context ever set
 * and every sample's labels empty. What spanprof costs above this is its own:
 * context tracking, labels, request counts, profile tags and the export.
 */
function startSamplers() {
  const core = require.resolve('@spanprof/core');
  const { encode, heap, time } = require(require.resolve('@datadog/pprof', { paths: [core] }));
  const { isAsyncContextFrameActive } = require('@spanprof/core');
  // spanprof's defaults: exported by its options module, not by the package index.
  const defaults = require(path.join(path.dirname(core), 'options'));
  const env = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
  const uploadPeriodMillis = env('UPLOAD_PERIOD_MILLIS', defaults.DEFAULT_UPLOAD_PERIOD_MILLIS);
  const heapOn = process.env.HEAP !== '0';
  time.start({
    intervalMicros: env('SAMPLING_INTERVAL_MICROS', defaults.DEFAULT_SAMPLING_INTERVAL_MICROS),
    durationMillis: uploadPeriodMillis,
    withContexts: true,
    collectCpuTime: process.env.CPU_TIME !== '0',
    // ProfilerSession.chooseStrategy: the async-frame strategy (CPED) wherever AsyncContextFrame is active.
    useCPED: process.env.CONTEXT_TRACKING !== 'async-hooks' && isAsyncContextFrameActive(),
    workaroundV8Bug: true,
  });
  if (heapOn) heap.start(env('HEAP_INTERVAL_BYTES', defaults.DEFAULT_HEAP_INTERVAL_BYTES), defaults.DEFAULT_HEAP_STACK_DEPTH);
  const noLabels = Object.freeze({});
  const collect = async () => {
    const profiles = [time.stop(true, () => noLabels)];
    time.v8ProfilerStuckEventLoopDetected();
    if (heapOn) {
      await new Promise((resolve) => setImmediate(resolve));
      profiles.push(heap.profile());
    }
    for (const profile of profiles) await encode(profile);
  };
  let timer;
  const schedule = () => {
    timer = setTimeout(() => {
      collect()
        .catch((err) => process.stderr.write(`samplers: collection failed: ${err}\n`))
        .finally(schedule);
    }, uploadPeriodMillis).unref();
  };
  schedule();
  return () => {
    clearTimeout(timer);
    time.stop(false);
    if (heapOn) heap.stop();
  };
}

let profiler;
let shutdown = async () => {};
if (mode === 'dd-trace') {
  // Before anything loads node:http, so that dd-trace's HTTP plug-in instruments it.
  // Its OpenTelemetry TracerProvider makes the handler's OpenTelemetry API calls dd-trace spans.
  if (!process.env.BENCH_DD_TRACE_MODULE)
    throw new Error('MODE=dd-trace needs BENCH_DD_TRACE_MODULE, the path of a dd-trace package (bench/own-cost.js installs one)');
  const ddTrace = require(process.env.BENCH_DD_TRACE_MODULE).init();
  new ddTrace.TracerProvider().register();
} else {
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  const discard = { export: (spans, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
  const processors = [new BatchSpanProcessor(discard)];
  if (mode === 'spanprof') {
    profiler = createProfiler();
    processors.unshift(profiler);
  } else if (mode === 'samplers') {
    startSamplers();
  } else if (mode === 'switch') {
    // Both configurations in one process, alternating (see switchPhases below): the
    // processor slot forwards to a ProfilingSpanProcessor while spanprof is on and
    // to nothing while it is off.
    processors.unshift({
      onStart: (span, ctx) => profiler?.onStart(span, ctx),
      onEnd: (span) => profiler?.onEnd(span),
      forceFlush: async () => profiler?.forceFlush(),
      shutdown: async () => profiler?.shutdown(),
    });
  }
  const provider = new NodeTracerProvider({ spanProcessors: processors });
  // spanprof runs with the context manager its README registers; CONTEXT_MANAGER=stock keeps the SDK's
  // default (spanprof then wraps it). The baselines keep the SDK's default (CONTEXT_MANAGER=spanprof: spanprof's).
  const manager = process.env.CONTEXT_MANAGER ?? (mode === 'spanprof' || mode === 'switch' ? 'spanprof' : 'stock');
  const spanprofManager = manager === 'spanprof';
  provider.register(spanprofManager ? { contextManager: new (require('@spanprof/core').SpanprofContextManager)() } : undefined);
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
  shutdown = () => provider.shutdown();
}

const http = require('node:http');
const crypto = require('node:crypto');
const tracer = api.trace.getTracer('bench');

/** Request work: WORK_UNITS units of about 40 µs each (build, serialise, parse, hash). */
const units = Number(process.env.WORK_UNITS ?? 1);
function work(id) {
  let n = 0;
  let digest = '';
  for (let u = 0; u < units; u++) {
    const items = Array.from({ length: 40 }, (_, i) => ({ id: `${id}-${u}-${i}`, price: i * 1.5, tags: ['a', 'b', String(i)] }));
    const body = JSON.stringify(items);
    n += JSON.parse(body).length;
    for (let i = 0; i < 4; i++)
      digest = crypto
        .createHash('sha256')
        .update(body + digest)
        .digest('hex');
  }
  return { n, digest };
}

let served = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/__phases') {
    res.end(JSON.stringify(phases));
    return;
  }
  if (req.url === '/__stats') {
    const reply = async () => {
      if (profiler) await profiler.forceFlush();
      res.end(JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, profiler: profiler?.stats() }));
    };
    reply();
    return;
  }
  api.trace.getActiveSpan()?.setAttribute('http.route', '/items/:id');
  setImmediate(() => {
    tracer.startActiveSpan('load-items', async (span) => {
      await null;
      const out = work(req.url);
      span.end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(out));
      served++;
    });
  });
});
// MODE=switch: spanprof off and on in alternating phases of PHASE_MILLIS, in the
// order off,on,on,off,off,on,... so that drift hits both alike. Each phase
// counts the requests served and the process CPU time after the first
// SETTLE_MILLIS (which absorb the switch: profiler start, final collection and
// export of the stopped one).
const phases = [];
if (mode === 'switch') {
  let stopSamplers;
  const phaseMillis = Number(process.env.PHASE_MILLIS ?? 2000);
  const settleMillis = Number(process.env.SETTLE_MILLIS ?? 400);
  let index = 0;
  const next = async () => {
    const on = index % 4 === 1 || index % 4 === 2;
    index++;
    // Whatever ran stops at each phase boundary, and the phase starts its own:
    // spanprof when on; when off, nothing, or with SWITCH_BASELINE=samplers the
    // samplers alone (spanprof's own cost is then on - off). NULL_SWITCH=1 is the
    // A/A run: on phases run what off phases run (the bench's own spread).
    stopSamplers?.();
    stopSamplers = undefined;
    if (profiler) {
      const stopping = profiler;
      profiler = undefined;
      await stopping.shutdown();
    }
    if (on && process.env.NULL_SWITCH !== '1') profiler = createProfiler();
    else if (process.env.SWITCH_BASELINE === 'samplers') stopSamplers = startSamplers();
    setTimeout(() => {
      const start = { at: performance.now(), served, cpu: process.cpuUsage(), main: mainThreadCpuNanos() };
      setTimeout(() => {
        const cpu = process.cpuUsage(start.cpu);
        const millis = performance.now() - start.at;
        const mainCpuMicros = (mainThreadCpuNanos() - start.main) / 1000;
        phases.push({ on, endedAt: Date.now(), millis, requests: served - start.served, cpuMicros: cpu.user + cpu.system, mainCpuMicros });
        next();
      }, phaseMillis - settleMillis).unref();
    }, settleMillis).unref();
  };
  next();
}
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => {
  server.close();
  shutdown().finally(() => process.exit(0));
});
