'use strict';
// spanprof demo: trace a small HTTP service with OpenTelemetry, profile it with
// ProfilingSpanProcessor (default FileExporter, ./profiles), drive it with an
// in-process load generator, then show where each endpoint's time went (its
// top function, CPU, I/O and waiting per request), the slowest trace and the
// longest event-loop block.
//
//   node examples/demo/run.js [--duration 20] [--concurrency 16] [--profiles DIR]
//                             [--sampling-interval MICROS] [--json]
const { parseArgs } = require('node:util');
const path = require('node:path');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    profiles: { type: 'string' },
    'sampling-interval': { type: 'string', default: '10101' },
    json: { type: 'boolean', default: false },
  },
});
const durationMs = Math.max(1, Number(args.duration)) * 1000;
const concurrency = Math.max(1, Number(args.concurrency));

// --- OpenTelemetry, as a service would set it up -----------------------------
// No collector runs next to the demo: NodeSDK's default OTLP metrics and logs
// exporters would only retry against it at shutdown.
process.env.OTEL_METRICS_EXPORTER ??= 'none';
process.env.OTEL_LOGS_EXPORTER ??= 'none';
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { context, createContextKey } = require('@opentelemetry/api');
const { ProfilingSpanProcessor, SpanprofContextManager } = require('@spanprof/opentelemetry');
const { FileExporter } = require('@spanprof/core');

const profileDir = path.resolve(args.profiles ?? 'profiles');
const processor = new ProfilingSpanProcessor({
  // The default exporter is FileExporter('./profiles'); named here only to honour --profiles.
  exporter: args.profiles ? new FileExporter({ directory: profileDir }) : undefined,
  uploadPeriodMillis: 10_000,
  samplingIntervalMicros: Number(args['sampling-interval']),
});
const sdk = new NodeSDK({
  serviceName: 'spanprof-demo',
  contextManager: new SpanprofContextManager(),
  spanProcessors: [processor],
  instrumentations: [new HttpInstrumentation()],
});
sdk.start();

// Loaded after the SDK so that node:http is instrumented.
const http = require('node:http');
const { createServer, routes, expectedHotspots, expectedBlock } = require('./app');
const { hotspots, loadProfiles, loopBlocks, rank } = require('@spanprof/profile');

// The load generator is not part of the service: its requests make no spans.
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
const untraced = context.active().setValue(SUPPRESS_TRACING_KEY, true);

const paths = [
  () => `/checkout/cart-${Math.floor(Math.random() * 1000)}`,
  () => `/search?q=${encodeURIComponent(['oak', 'steel', 'red 42'][Math.floor(Math.random() * 3)])}`,
  () => `/users/${Math.floor(Math.random() * 10000)}/avatar`,
  () => '/reports/daily',
];

const out = args.json ? process.stderr : process.stdout;
const say = (line = '') => out.write(`${line}\n`);

async function load(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = Date.now() + durationMs;
  let done = 0;
  let errors = 0;
  const started = Date.now();
  const tty = out.isTTY === true;
  const progress = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    const line = `load: ${s.toFixed(0)}/${durationMs / 1000} s, ${done} requests (${Math.round(done / s)}/s), ${errors} errors`;
    if (tty) out.write(`\r${line}   `);
    else if (Math.round(s) % 5 === 0 && s * 1000 < durationMs + 1000) say(line);
  }, 1000);
  progress.unref();
  const one = (p, method = 'GET') =>
    new Promise((resolve) => {
      const failed = () => {
        errors++;
        resolve();
      };
      try {
        const req = http.request({ host: '127.0.0.1', port, path: p, agent, method }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) done++;
            else errors++;
            resolve();
          });
          res.on('error', failed);
        });
        req.on('error', failed);
        req.end();
      } catch {
        failed();
      }
    });
  // Now and then an admin rebuilds the search index: the event loop stops while the others wait.
  const reindex = setInterval(() => void one('/admin/reindex', 'POST'), 2000);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; Date.now() < deadline; i++) await one(paths[i % paths.length]());
    }),
  );
  clearInterval(progress);
  clearInterval(reindex);
  if (tty) out.write('\n');
  agent.destroy();
  say(`load: ${done} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, ${errors} errors`);
  return done;
}

const ms = (ns) => (ns / 1e6).toFixed(1);
const pct = (a, b) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');
const where = (f) => (f.file ? `${path.relative(process.cwd(), f.file) || f.file}:${f.line}` : '');
/** Top functions by self CPU, leaving out the runtime's pseudo-frames. */
const topFunctions = (h, n) => h.functions.filter((f) => !f.name.startsWith('(') && f.self.cpuNanos > 0).slice(0, n);

async function main() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  say(`spanprof demo: ${routes.length} routes on http://127.0.0.1:${server.address().port}, profiling to ${profileDir}`);
  let requests;
  try {
    requests = await context.with(untraced, () => load(server.address().port));
  } finally {
    server.close();
    server.closeAllConnections();
  }
  await sdk.shutdown(); // stops profiling and writes the last profile

  const { profiles } = loadProfiles(profileDir, { tags: { 'process.pid': String(process.pid) } });
  const ranking = rank(profiles, 'duration');
  say(
    `\n${profiles.length} profile file(s) from this run, ${ms(ranking.total.cpuNanos)} ms CPU sampled, ${pct(ranking.total.cpuNanos - ranking.unattributed.cpuNanos, ranking.total.cpuNanos)} of it inside spans\n`,
  );

  say("Per endpoint: requests, mean and p95 duration, where a request's time went (CPU, I/O waits, other waiting), top function:");
  const summary = {};
  for (const e of ranking.endpoints) {
    if (e.endpoint === expectedBlock.endpoint) continue;
    const top = topFunctions(hotspots(profiles, { kind: 'endpoint', name: e.endpoint }), 1)[0];
    const t = e.time;
    summary[e.endpoint] = {
      cpuNanos: e.cpuNanos,
      wallNanos: e.wallNanos,
      requests: e.requests,
      traces: e.traces,
      time: t,
      top: top?.name,
      expected: expectedHotspots[e.endpoint],
    };
    const split = t
      ? `mean ${t.meanMillis.toFixed(1).padStart(5)} ms  p95 ${t.p95Millis.toFixed(1).padStart(5)} ms  cpu ${t.cpuMillisPerRequest.toFixed(1).padStart(4)}  io ${t.ioMillisPerRequest.toFixed(1).padStart(4)}  waiting ${t.waitingMillisPerRequest.toFixed(1).padStart(5)}`
      : '';
    say(
      `  ${e.endpoint.padEnd(22)} ${String(e.requests).padStart(5)} requests ( ${String(e.traces).padStart(4)} sampled)  ${split}  top: ${top ? `${top.name} (${where(top)})` : '-'}`,
    );
  }

  const trace = ranking.traces.find((t) => t.endpoint !== expectedBlock.endpoint);
  const rel = path.relative(process.cwd(), profileDir) || '.';
  if (trace?.time !== undefined) {
    const t = trace.time;
    say(
      `\nThe slowest trace, ${trace.traceId} (${trace.endpoint}): ${ms(t.durationNanos)} ms: ${ms(t.cpuNanos)} ms CPU, ${ms(t.ioNanos)} ms I/O, ${ms(t.waitingNanos)} ms waiting`,
    );
    for (const s of ranking.spans.filter((x) => x.traceId === trace.traceId && x.time !== undefined)) {
      const st = s.time;
      say(
        `  span ${s.spanId} ${JSON.stringify(st.name)}${s.spanId === s.localRootSpanId ? ' (local root)' : ''}: ${ms(st.durationNanos)} ms: ${ms(st.cpuNanos)} ms CPU in it, ${ms(st.ioNanos)} ms I/O, ${ms(st.waitingNanos)} ms waiting`,
      );
      for (const f of topFunctions(hotspots(profiles, { kind: 'span', id: s.spanId }), 2)) {
        say(`    ${ms(f.self.cpuNanos).padStart(7)} ms  ${f.name}  ${where(f)}`);
      }
    }
  }

  const block = loopBlocks(profiles)[0];
  if (block !== undefined) {
    const fn = block.functions[0];
    const span = block.spans[0];
    say(
      `\nThe longest event-loop block: ${block.durationMillis.toFixed(1)} ms at ${new Date(block.start).toISOString()}, in ${fn ? `${fn.name} (${where(fn)})` : '-'}, span ${span ? `${span.spanId} (${span.endpoint})` : '(none)'}; ${block.requestsInFlight} request(s) in flight waited, ${block.requestsQueued} queued behind it`,
    );
  }
  if (trace !== undefined) {
    const span = ranking.spans.find((x) => x.traceId === trace.traceId);
    say('\nDig further:');
    say(`  npx spanprof spans ${rel} --tag process.pid=${process.pid}`);
    say(`  npx spanprof hotspots ${rel} --trace ${trace.traceId}`);
    say(`  npx spanprof events ${rel} --trace ${trace.traceId}     # its I/O waits and GC pauses`);
    say(`  npx spanprof blocks ${rel}`);
    say(`  npx spanprof hotspots ${rel} --span ${span.spanId} --format collapsed   # for flame-graph tools`);
    say(`  npx spanprof view ${rel}                                   # the same in the browser, with timelines`);
  }
  if (args.json)
    process.stdout.write(
      `${JSON.stringify({
        pid: process.pid,
        requests,
        profiles: profiles.length,
        endpoints: summary,
        block:
          block === undefined
            ? undefined
            : {
                durationMillis: block.durationMillis,
                function: block.functions[0]?.name,
                endpoint: block.spans[0]?.endpoint,
                requestsInFlight: block.requestsInFlight,
                requestsQueued: block.requestsQueued,
              },
        stats: processor.stats(),
      })}\n`,
    );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
