'use strict';
// What the heap profile's sampling interval buys and costs, with V8's sampling
// heap profiler alone (through @datadog/pprof, as spanprof drives it):
//
// - precision: three functions retain 4, 16 and 64 MiB of equal-sized arrays;
//   the in-use bytes the profile attributes to each are compared with the
//   truth over repeated trials (relative error, root mean square, and bias).
//   Sampling theory puts the error near sqrt(interval / bytes held).
// - cost per sample: a loop allocating known bytes (nothing retained) at a
//   given JavaScript stack depth, heap profiler off and on at a small interval
//   in alternating blocks; main-thread CPU added divided by the expected
//   number of samples (bytes allocated / interval).
//
//   node bench/heap-sampler.js [--trials 20] [--intervals 524288,1048576,2097152] [--depths 2,30,60]
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { parseArgs } = require('node:util');
const { heap } = require('@datadog/pprof');
const { mainThreadCpuNanos } = require('./main-thread-cpu');

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    intervals: { type: 'string', default: '524288,1048576,2097152' },
    depths: { type: 'string', default: '2,30,60' },
    'cost-interval': { type: 'string', default: '65536' },
    blocks: { type: 'string', default: '12' },
  },
});

v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? vm.runInNewContext('gc');

const ELEMENTS = 125;
/** Bytes of one `new Array(125)`: the JSArray (32) and its FixedArray (16 + 125 * 8), 64-bit, no pointer compression. */
const ARRAY_BYTES = 32 + 16 + ELEMENTS * 8;
const STACK_DEPTH = 64;

const held = [];
// Three identical functions on purpose: the profile tells allocation sites apart by function.
function holdsSmall(n) {
  for (let i = 0; i < n; i++) held.push(new Array(ELEMENTS).fill(i));
}
function holdsMedium(n) {
  for (let i = 0; i < n; i++) held.push(new Array(ELEMENTS).fill(i));
}
function holdsLarge(n) {
  for (let i = 0; i < n; i++) held.push(new Array(ELEMENTS).fill(i));
}
const SITES = [
  { fn: holdsSmall, bytes: 4 << 20 },
  { fn: holdsMedium, bytes: 16 << 20 },
  { fn: holdsLarge, bytes: 64 << 20 },
];

function bytesBySite(node, out) {
  for (const site of SITES) {
    if (node.name === site.fn.name) for (const a of node.allocations) out.set(site.fn.name, (out.get(site.fn.name) ?? 0) + a.sizeBytes * a.count);
  }
  for (const child of node.children) bytesBySite(child, out);
  return out;
}

function precision(interval, trials) {
  const errors = SITES.map(() => []);
  for (let t = 0; t < trials; t++) {
    held.length = 0;
    gc();
    heap.start(interval, STACK_DEPTH);
    const counts = SITES.map((site) => Math.round(site.bytes / ARRAY_BYTES));
    SITES.forEach((site, i) => site.fn(counts[i]));
    const found = bytesBySite(heap.v8Profile(), new Map());
    heap.stop();
    SITES.forEach((site, i) => errors[i].push((found.get(site.fn.name) ?? 0) / (counts[i] * ARRAY_BYTES) - 1));
  }
  held.length = 0;
  const rms = (xs) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);
  const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
  return SITES.map((site, i) => ({ mib: site.bytes >> 20, rmsError: rms(errors[i]), bias: mean(errors[i]), theory: Math.sqrt(interval / site.bytes) }));
}

/** The last array allocated: kept so that the allocations are not optimised away. */
const sink = { last: undefined };
function allocate(n) {
  for (let i = 0; i < n; i++) sink.last = new Array(ELEMENTS).fill(i);
}
function atDepth(depth, n) {
  return depth <= 1 ? allocate(n) : atDepth(depth - 1, n);
}
function costPerSample(depth, interval, blocks) {
  const perArray = { off: [], on: [] };
  const batch = 2000;
  for (let i = 0; i < 20; i++) atDepth(depth, batch);
  for (let b = 0; b < blocks; b++) {
    for (const on of b % 2 ? [true, false] : [false, true]) {
      if (on) heap.start(interval, STACK_DEPTH);
      atDepth(depth, batch);
      let arrays = 0;
      const t0 = mainThreadCpuNanos();
      const end = performance.now() + 250;
      while (performance.now() < end) {
        atDepth(depth, batch);
        arrays += batch;
      }
      perArray[on ? 'on' : 'off'].push((mainThreadCpuNanos() - t0) / arrays);
      if (on) heap.stop();
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const addedPerArray = median(perArray.on) - median(perArray.off);
  return { depth, offNanosPerArray: median(perArray.off), addedNanosPerArray: addedPerArray, microsPerSample: (addedPerArray * interval) / ARRAY_BYTES / 1000 };
}

const result = { node: process.version, date: new Date().toISOString(), precision: {}, cost: [] };
const trials = Number(args.trials);
for (const interval of args.intervals.split(',').map(Number)) result.precision[interval] = precision(interval, trials);
const costInterval = Number(args['cost-interval']);
for (const depth of args.depths.split(',').map(Number)) result.cost.push(costPerSample(depth, costInterval, Number(args.blocks)));

fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
fs.writeFileSync(path.join(__dirname, 'results', 'heap-sampler.json'), `${JSON.stringify(result, null, 2)}\n`);
const pct = (x) => `${(x * 100).toFixed(0)}%`;
console.log(`\nV8 sampling heap profiler, Node ${process.version}`);
console.log(`In-use bytes per allocation site, relative error over ${trials} trials (root mean square; bias; sqrt(interval/bytes))`);
console.log('| interval | 4 MiB held | 16 MiB held | 64 MiB held |');
console.log('| --- | --- | --- | --- |');
for (const [interval, sites] of Object.entries(result.precision)) {
  console.log(`| ${Number(interval) / 1024} KiB | ${sites.map((s) => `${pct(s.rmsError)} (bias ${pct(s.bias)}; ${pct(s.theory)})`).join(' | ')} |`);
}
console.log(`\nCost per heap sample (main-thread CPU, interval ${costInterval / 1024} KiB while measuring)`);
console.log('| JavaScript stack depth | µs per sample |');
console.log('| --- | --- |');
for (const c of result.cost) console.log(`| ${c.depth} | ${c.microsPerSample.toFixed(1)} |`);
