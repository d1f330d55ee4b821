'use strict';
// spanprof demo: trace a small HTTP service with OpenTelemetry, profile it with
// ProfilingSpanProcessor (default FileExporter, ./profiles), drive it with an
// in-process load generator, then show which functions burned each endpoint's
// and the costliest trace's time.
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
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
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
  spanProcessors: [processor],
  instrumentations: [new HttpInstrumentation()],
});
sdk.start();

// Loaded after the SDK so that node:http is instrumented.
const http = require('node:http');
const { createServer, routes, expectedHotspots } = require('./app');
const { loadProfiles, rank, hotspots } = require('@spanprof/cli');

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
  const one = (p) =>
    new Promise((resolve) => {
      const failed = () => {
        errors++;
        resolve();
      };
      try {
        const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) done++;
            else errors++;
            resolve();
          });
          res.on('error', failed);
        });
        req.on('error', failed);
      } catch {
        failed();
      }
    });
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; Date.now() < deadline; i++) await one(paths[i % paths.length]());
    }),
  );
  clearInterval(progress);
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
  const ranking = rank(profiles);
  say(
    `\n${profiles.length} profile file(s) from this run, ${ms(ranking.total.cpuNanos)} ms CPU sampled, ${pct(ranking.total.cpuNanos - ranking.unattributed.cpuNanos, ranking.total.cpuNanos)} of it inside spans\n`,
  );

  say('Per endpoint (CPU and wall time of every sample labelled with it) and its top function:');
  const summary = {};
  for (const e of ranking.endpoints) {
    const top = topFunctions(hotspots(profiles, { kind: 'endpoint', name: e.endpoint }), 1)[0];
    summary[e.endpoint] = {
      cpuNanos: e.cpuNanos,
      wallNanos: e.wallNanos,
      requests: e.requests,
      traces: e.traces,
      top: top?.name,
      expected: expectedHotspots[e.endpoint],
    };
    say(
      `  ${e.endpoint.padEnd(24)} cpu ${ms(e.cpuNanos).padStart(8)} ms  wall ${ms(e.wallNanos).padStart(8)} ms  ${String(e.requests).padStart(5)} requests (${String(e.traces).padStart(4)} sampled)  top: ${top ? `${top.name} (${where(top)})` : '-'}`,
    );
  }

  const trace = ranking.traces[0];
  if (trace !== undefined) {
    say(`\nThe costliest trace, ${trace.traceId} (${trace.endpoint}): ${ms(trace.cpuNanos)} ms CPU in ${trace.spans} span(s)`);
    for (const s of ranking.spans.filter((x) => x.traceId === trace.traceId)) {
      say(`  span ${s.spanId}${s.spanId === s.localRootSpanId ? ' (local root)' : ''}: ${ms(s.cpuNanos)} ms CPU`);
      for (const f of topFunctions(hotspots(profiles, { kind: 'span', id: s.spanId }), 3)) {
        say(`    ${ms(f.self.cpuNanos).padStart(7)} ms  ${f.name}  ${where(f)}`);
      }
    }
    const span = ranking.spans.find((x) => x.traceId === trace.traceId);
    const rel = path.relative(process.cwd(), profileDir) || '.';
    say('\nDig further:');
    say(`  npx spanprof spans ${rel} --tag process.pid=${process.pid}`);
    say(`  npx spanprof hotspots ${rel} --trace ${trace.traceId}`);
    say(`  npx spanprof hotspots ${rel} --endpoint "${trace.endpoint}"`);
    say(`  npx spanprof hotspots ${rel} --span ${span.spanId} --format collapsed   # for flame-graph tools`);
    say(`  go tool pprof -tagfocus=span_id=${span.spanId} -top ${path.relative(process.cwd(), profiles[0].file)}`);
  }
  if (args.json)
    process.stdout.write(`${JSON.stringify({ pid: process.pid, requests, profiles: profiles.length, endpoints: summary, stats: processor.stats() })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
