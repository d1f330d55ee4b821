'use strict';
// Memory over millions of spans: each span is started active, does a little
// async work and ends, with the profiler labelling it. The heap (after a full
// GC) must stay flat: label data is one small object per span, dropped with it.
//
//   node --expose-gc bench/span-memory.js [--spans 1000000]
const { parseArgs } = require('node:util');
const os = require('node:os');
const fs = require('node:fs');
const path = require('node:path');
const api = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
const { FileExporter } = require('@spanprof/core');

const { values: args } = parseArgs({ options: { spans: { type: 'string', default: '1000000' } } });
const total = Number(args.spans);
if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-memory-'));
const processor = new ProfilingSpanProcessor({ exporter: new FileExporter({ directory: dir }), uploadPeriodMillis: 5000 });
const provider = new NodeTracerProvider({ spanProcessors: [processor] });
provider.register();
const tracer = api.trace.getTracer('memory');

const heapMiB = () => {
  global.gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

async function main() {
  const points = [];
  const step = total / 4;
  points.push({ spans: 0, heapMiB: heapMiB() });
  let done = 0;
  while (done < total) {
    // 1,000 concurrent requests of a root and a child span.
    await Promise.all(
      Array.from({ length: 500 }, () =>
        tracer.startActiveSpan('request', async (root) => {
          await tracer.startActiveSpan('child', async (child) => {
            await null;
            child.end();
          });
          root.end();
        }),
      ),
    );
    done += 1000;
    if (done % step === 0) {
      points.push({ spans: done, heapMiB: heapMiB() });
      console.error(`${done} spans: heap ${points.at(-1).heapMiB.toFixed(1)} MiB`);
    }
  }
  await provider.shutdown();
  const growth = points.at(-1).heapMiB - points[1].heapMiB;
  const result = { node: process.version, spans: total, points, growthAfterFirstQuarterMiB: growth, batches: processor.stats().batches };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'span-memory.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `heap after GC: ${points.map((p) => `${p.spans} spans ${p.heapMiB.toFixed(1)} MiB`).join(', ')}; growth from the first quarter to the end ${growth.toFixed(2)} MiB`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
