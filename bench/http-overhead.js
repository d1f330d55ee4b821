'use strict';
// Overhead of spanprof on an HTTP service: throughput and p99 latency under
// autocannon load, OpenTelemetry tracing only versus tracing plus spanprof at
// default settings, in alternating runs of the same session; plus the server's
// peak RSS and the event-loop pause of a profile collection.
//
// Two request sizes: `typical` does about 1 ms of CPU work per request (a JSON
// API that builds, serialises and hashes a few kB), `light` about 0.04 ms, where
// tracing and profiling costs per request dominate. The added cost per request
// (µs) is the figure that holds for any request size.
//
//   node bench/http-overhead.js [--rounds 5] [--duration 10] [--connections 32] [--workloads typical,light]
//                               [--context-tracking auto|async-frame|async-hooks]
//
// Results: printed, and written to bench/results/http-overhead.json.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');
const { median } = require('./common');

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    workloads: { type: 'string', default: 'typical,light' },
    'context-tracking': { type: 'string', default: 'auto' },
  },
});
/** Units of ~40 µs of work per request. */
const WORKLOADS = { typical: 25, light: 1 };
const rounds = Number(args.rounds);

function startServer(mode, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'server.js')], {
      env: { ...process.env, MODE: mode, CONTEXT_TRACKING: args['context-tracking'], ...env },
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

async function runWorkload(name) {
  const env = { WORK_UNITS: String(WORKLOADS[name]) };
  const runs = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which mode goes first, so drift in the machine hits both.
    const order = i % 2 === 0 ? ['tracing', 'spanprof'] : ['spanprof', 'tracing'];
    for (const mode of order) {
      const r = await measure(mode, env);
      runs.push(r);
      console.error(`${name} round ${i + 1}/${rounds} ${mode.padEnd(8)} ${r.rps.toFixed(0)} req/s  p99 ${r.p99} ms  peak RSS ${r.maxRssMiB.toFixed(1)} MiB`);
    }
  }
  const of = (mode, key) => runs.filter((r) => r.mode === mode).map((r) => r[key]);
  const w = {
    workUnits: WORKLOADS[name],
    tracing: { rps: median(of('tracing', 'rps')), p99: median(of('tracing', 'p99')), maxRssMiB: Math.max(...of('tracing', 'maxRssMiB')) },
    spanprof: { rps: median(of('spanprof', 'rps')), p99: median(of('spanprof', 'p99')), maxRssMiB: Math.max(...of('spanprof', 'maxRssMiB')) },
    collectPauseMillis: median(runs.filter((r) => r.mode === 'spanprof').map((r) => r.profiler.lastCollectPauseMillis)),
    runs,
  };
  w.throughputRatio = w.spanprof.rps / w.tracing.rps;
  w.p99Ratio = w.spanprof.p99 / w.tracing.p99;
  w.rssDeltaMiB = w.spanprof.maxRssMiB - w.tracing.maxRssMiB;
  w.addedMicrosPerRequest = 1e6 / w.spanprof.rps - 1e6 / w.tracing.rps;
  return w;
}

async function main() {
  const names = args.workloads.split(',').filter((n) => n in WORKLOADS);
  const result = {
    node: process.version,
    date: new Date().toISOString(),
    rounds,
    durationSeconds: Number(args.duration),
    connections: Number(args.connections),
    workloads: {},
  };
  for (const name of names) result.workloads[name] = await runWorkload(name);
  // The collection pause with many labelled samples: 1 kHz sampling for one run.
  const dense = await measure('spanprof', { WORK_UNITS: String(WORKLOADS.typical), SAMPLING_INTERVAL_MICROS: '1000' });
  result.denseCollection = {
    samplingHz: 1000,
    seconds: Number(args.duration) + Number(args.warmup),
    pauseMillis: dense.profiler.lastCollectPauseMillis,
    rps: dense.rps,
  };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'http-overhead.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `\nspanprof HTTP overhead, Node ${process.version}, ${rounds} alternating rounds of ${args.duration} s per mode, ${args.connections} connections`,
  );
  console.log(
    '| request work | tracing req/s | +spanprof req/s | throughput loss | added per request | p99 tracing / +spanprof | peak RSS tracing / +spanprof | collection pause |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, w] of Object.entries(result.workloads)) {
    console.log(
      `| ${name} (~${(w.workUnits * 0.04).toFixed(2)} ms CPU) | ${w.tracing.rps.toFixed(0)} | ${w.spanprof.rps.toFixed(0)} | ${((1 - w.throughputRatio) * 100).toFixed(1)}% | ${w.addedMicrosPerRequest.toFixed(1)} µs | ${w.tracing.p99} / ${w.spanprof.p99} ms | ${w.tracing.maxRssMiB.toFixed(1)} / ${w.spanprof.maxRssMiB.toFixed(1)} MiB (${w.rssDeltaMiB >= 0 ? '+' : ''}${w.rssDeltaMiB.toFixed(1)}) | ${w.collectPauseMillis.toFixed(1)} ms |`,
    );
  }
  console.log(`\nCollection pause with ${result.denseCollection.seconds} s of 1 kHz samples under load: ${result.denseCollection.pauseMillis.toFixed(1)} ms`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
