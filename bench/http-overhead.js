'use strict';
// Overhead of spanprof on an HTTP service: throughput and p99 latency under
// autocannon load, OpenTelemetry tracing only versus tracing plus spanprof at
// default settings, in alternating runs of the same session; plus the server's
// peak RSS and the event-loop pause of a profile collection.
//
//   node bench/http-overhead.js [--rounds 5] [--duration 10] [--connections 32]
//
// Results: printed, and written to bench/results/http-overhead.json.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
  },
});
const rounds = Number(args.rounds);

function startServer(mode, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js')], {
      env: { ...process.env, MODE: mode, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.stdout.once('data', (d) => resolve({ child, port: JSON.parse(String(d)).port }));
  });
}

function stop(child) {
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

async function stats(port) {
  const res = await fetch(`http://127.0.0.1:${port}/__stats`);
  return res.json();
}

async function measure(mode, env) {
  const { child, port } = await startServer(mode, env);
  try {
    const url = `http://127.0.0.1:${port}/items/42`;
    await autocannon({ url, connections: Number(args.connections), duration: Number(args.warmup) });
    const r = await autocannon({ url, connections: Number(args.connections), duration: Number(args.duration) });
    const s = await stats(port);
    return { mode, rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx, maxRssMiB: s.maxRssBytes / 2 ** 20, profiler: s.profiler };
  } finally {
    await stop(child);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const runs = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which mode goes first, so drift in the machine hits both.
    const order = i % 2 === 0 ? ['tracing', 'spanprof'] : ['spanprof', 'tracing'];
    for (const mode of order) {
      const r = await measure(mode);
      runs.push(r);
      console.error(`round ${i + 1}/${rounds} ${mode.padEnd(8)} ${r.rps.toFixed(0)} req/s  p99 ${r.p99} ms  peak RSS ${r.maxRssMiB.toFixed(1)} MiB`);
    }
  }
  // The collection pause with many labelled samples: 1 kHz sampling for one run.
  const dense = await measure('spanprof', { SAMPLING_INTERVAL_MICROS: '1000' });
  const of = (mode, key) => runs.filter((r) => r.mode === mode).map((r) => r[key]);
  const result = {
    node: process.version,
    rounds,
    durationSeconds: Number(args.duration),
    connections: Number(args.connections),
    tracing: { rps: median(of('tracing', 'rps')), p99: median(of('tracing', 'p99')), maxRssMiB: Math.max(...of('tracing', 'maxRssMiB')) },
    spanprof: { rps: median(of('spanprof', 'rps')), p99: median(of('spanprof', 'p99')), maxRssMiB: Math.max(...of('spanprof', 'maxRssMiB')) },
    collection: {
      defaultPauseMillis: median(runs.filter((r) => r.mode === 'spanprof').map((r) => r.profiler.lastCollectPauseMillis)),
      denseSamplingRps: dense.rps,
      densePauseMillis: dense.profiler.lastCollectPauseMillis,
      denseSeconds: Number(args.duration) + Number(args.warmup),
    },
    runs,
  };
  result.throughputRatio = result.spanprof.rps / result.tracing.rps;
  result.p99Ratio = result.spanprof.p99 / result.tracing.p99;
  result.rssDeltaMiB = result.spanprof.maxRssMiB - result.tracing.maxRssMiB;
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'http-overhead.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nspanprof HTTP overhead, Node ${process.version}, ${rounds} alternating rounds of ${args.duration} s, ${args.connections} connections`);
  console.log(`  throughput  tracing ${result.tracing.rps.toFixed(0)} req/s   +spanprof ${result.spanprof.rps.toFixed(0)} req/s   ratio ${result.throughputRatio.toFixed(3)} (${((1 - result.throughputRatio) * 100).toFixed(1)}% loss)`);
  console.log(`  p99 latency tracing ${result.tracing.p99} ms   +spanprof ${result.spanprof.p99} ms   ratio ${result.p99Ratio.toFixed(2)}`);
  console.log(`  peak RSS    tracing ${result.tracing.maxRssMiB.toFixed(1)} MiB   +spanprof ${result.spanprof.maxRssMiB.toFixed(1)} MiB   delta ${result.rssDeltaMiB.toFixed(1)} MiB`);
  console.log(`  collection pause ${result.collection.defaultPauseMillis.toFixed(1)} ms at 99 Hz; ${result.collection.densePauseMillis.toFixed(1)} ms for ${result.collection.denseSeconds} s at 1 kHz under load`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
