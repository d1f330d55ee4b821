'use strict';
// The benchmarked service: node:http with OpenTelemetry's HTTP instrumentation and
// a batch span processor (spans are built and batched, then dropped), plus
// spanprof's ProfilingSpanProcessor at its defaults when MODE=spanprof
// (CONTEXT_TRACKING and SAMPLING_INTERVAL_MICROS override those two options).
// Prints {"port":N} when listening. GET /__stats answers with peak RSS and, in
// spanprof mode, the profiler's figures after a forced collection.
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const api = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');

const mode = process.env.MODE ?? 'tracing';
const discard = { export: (spans, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
const processors = [new BatchSpanProcessor(discard)];
let profiler;
if (mode === 'spanprof') {
  const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
  const { FileExporter } = require('@spanprof/core');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-bench-'));
  profiler = new ProfilingSpanProcessor({
    exporter: new FileExporter({ directory: dir }),
    samplingIntervalMicros: process.env.SAMPLING_INTERVAL_MICROS ? Number(process.env.SAMPLING_INTERVAL_MICROS) : undefined,
    contextTracking: process.env.CONTEXT_TRACKING,
  });
  processors.unshift(profiler);
}
const provider = new NodeTracerProvider({ spanProcessors: processors });
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

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
    for (let i = 0; i < 4; i++) digest = crypto.createHash('sha256').update(body + digest).digest('hex');
  }
  return { n, digest };
}

const server = http.createServer((req, res) => {
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
    });
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => {
  server.close();
  provider.shutdown().finally(() => process.exit(0));
});
