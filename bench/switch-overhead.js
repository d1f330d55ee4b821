'use strict';
// Overhead of spanprof measured inside one server process: the server
// (bench/server.js, MODE=switch) turns a ProfilingSpanProcessor at default
// settings on and off in alternating phases (off,on,on,off,off,on,...) while
// autocannon keeps it saturated. Every phase pair is compared under the same JIT
// state, heap and machine load, which removes the process-to-process spread that
// dominates bench/http-overhead.js on a small shared machine.
//
// What it reports per workload: the median over phase pairs of
// (requests/s with spanprof) / (requests/s without) with its 95% interval, the
// same ratio from the totals, and the main thread's CPU time per request in each
// state. What it leaves out: the periodic collection (a phase is shorter than the
// upload period); its cost is the collection pause that bench/http-overhead.js
// reports, once per period.
//
// Neighbouring 2 s phases differ by 3 to 7% (standard deviation of a pair's
// ratio) on the 2-core machine: a 60 s run places the median within about
// +-1.5 points, 300 s within about +-1. --pin puts the server and its threads on
// CPU 1 and the load generator on CPU 0 (steadier, and the profiler's own
// threads then compete with the server's main thread, as in a one-CPU
// container); --null runs A/A (spanprof never on) to show the bench's own bias.
// Extra environment reaches the server (HEAP=0, HEAP_INTERVAL_BYTES,
// SAMPLING_INTERVAL_MICROS, CPU_TIME=0: see server.js) for taking the cost apart.
// --baseline samplers: the off phases run pprof's samplers alone, as spanprof
// configures them (server.js MODE=samplers), so on/off is spanprof's own cost.
//
//   node bench/switch-overhead.js [--duration 60] [--phase-millis 2000] [--connections 32] [--workloads typical,light]
//                                 [--context-tracking auto|async-frame|async-hooks] [--baseline tracing|samplers] [--pin] [--null] [--rate N]
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');
const { median, medianInterval } = require('./common');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
    'phase-millis': { type: 'string', default: '2000' },
    connections: { type: 'string', default: '32' },
    workloads: { type: 'string', default: 'typical,light' },
    'context-tracking': { type: 'string', default: 'auto' },
    baseline: { type: 'string', default: 'tracing' },
    rate: { type: 'string' },
    null: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
  },
});
const WORKLOADS = { typical: 25, light: 1 };

function startServer(env) {
  return new Promise((resolve, reject) => {
    const server = [process.execPath, path.join(__dirname, 'server.js')];
    const [command, ...argv] = args.pin ? ['taskset', '-c', '1', ...server] : server;
    const child = spawn(command, argv, {
      env: {
        ...process.env,
        MODE: 'switch',
        NULL_SWITCH: args.null ? '1' : '0',
        CONTEXT_TRACKING: args['context-tracking'],
        PHASE_MILLIS: args['phase-millis'],
        SWITCH_BASELINE: args.baseline,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.stdout.once('data', (d) => resolve({ child, port: JSON.parse(String(d)).port }));
  });
}

async function runWorkload(name) {
  const { child, port } = await startServer({ WORK_UNITS: String(WORKLOADS[name]) });
  try {
    const url = `http://127.0.0.1:${port}/items/42`;
    const connections = Number(args.connections);
    const overallRate = args.rate ? Number(args.rate) : undefined;
    await autocannon({ url, connections, duration: Number(args.warmup), overallRate });
    const from = Date.now();
    await autocannon({ url, connections, duration: Number(args.duration), overallRate });
    const to = Date.now();
    const phases = (await (await fetch(`http://127.0.0.1:${port}/__phases`)).json()).filter((p) => p.endedAt - p.millis >= from && p.endedAt <= to);
    const rate = (p) => (p.requests / p.millis) * 1000;
    // Pair each phase with its neighbour of the other state (off,on | on,off | ...).
    const ratios = [];
    const cpuRatios = [];
    const cpuPerRequest = (p) => p.mainCpuMicros / p.requests;
    for (let i = 0; i + 1 < phases.length; i++) {
      const [a, b] = [phases[i], phases[i + 1]];
      if (a.on === b.on) continue;
      const [on, off] = a.on ? [a, b] : [b, a];
      ratios.push(rate(on) / rate(off));
      cpuRatios.push(cpuPerRequest(on) / cpuPerRequest(off));
      i++;
    }
    const sum = (on, key) => phases.filter((p) => p.on === on).reduce((t, p) => t + p[key], 0);
    const total = (on) => ({
      rps: (sum(on, 'requests') / sum(on, 'millis')) * 1000,
      cpuMicrosPerRequest: sum(on, 'cpuMicros') / sum(on, 'requests'),
      mainCpuMicrosPerRequest: sum(on, 'mainCpuMicros') / sum(on, 'requests'),
    });
    const w = { workUnits: WORKLOADS[name], pairs: ratios.length, off: total(false), on: total(true) };
    w.medianPairRatio = median(ratios);
    w.medianPairRatioInterval95 = medianInterval(ratios);
    w.totalRatio = w.on.rps / w.off.rps;
    w.medianPairMainCpuRatio = median(cpuRatios);
    w.pairRatios = ratios;
    return w;
  } finally {
    child.kill('SIGKILL');
  }
}

async function main() {
  if (args.pin) {
    // This process (the load generator) on CPU 0, the server on CPU 1 (see startServer).
    try {
      execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    } catch (err) {
      throw new Error(`--pin needs taskset (util-linux) and two CPUs: ${err.message}`, { cause: err });
    }
  }
  const names = args.workloads.split(',').filter((n) => n in WORKLOADS);
  const result = {
    node: process.version,
    date: new Date().toISOString(),
    durationSeconds: Number(args.duration),
    phaseMillis: Number(args['phase-millis']),
    pinned: args.pin,
    null: args.null,
    workloads: {},
  };
  for (const name of names) {
    result.workloads[name] = await runWorkload(name);
    console.error(`${name}: ${result.workloads[name].pairs} phase pairs done`);
  }
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'switch-overhead.json'), `${JSON.stringify(result, null, 2)}\n`);
  const how = `${args.pin ? 'server pinned to one CPU' : 'unpinned'}${args.null ? ', A/A run: spanprof never turned on' : ''}`;
  console.log(`\nspanprof on/off in one process, Node ${process.version}, ${args.duration} s per workload in ${args['phase-millis']} ms phases, ${how}`);
  console.log(
    '| request work | phase pairs | req/s off / on | throughput loss (median pair, 95% interval) | (totals) | main-thread CPU per request off / on |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, w] of Object.entries(result.workloads)) {
    const loss = (ratio) => `${((1 - ratio) * 100).toFixed(1)}%`;
    const [low, high] = w.medianPairRatioInterval95;
    console.log(
      `| ${name} (~${(w.workUnits * 0.04).toFixed(2)} ms CPU) | ${w.pairs} | ${w.off.rps.toFixed(0)} / ${w.on.rps.toFixed(0)} | ${loss(w.medianPairRatio)} (${loss(high)} to ${loss(low)}) | ${loss(w.totalRatio)} | ${w.off.mainCpuMicrosPerRequest.toFixed(0)} / ${w.on.mainCpuMicrosPerRequest.toFixed(0)} µs |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
