'use strict';
// What spanprof's framework middleware adds to a request: one server process
// per framework (bench/middleware-server.js) runs the same app three times,
// without the middleware, with it, and with it plus a labels callback, all
// under tracing and the profiler. autocannon drives one instance at a time in
// rotating phases; the server's CPU time per request is compared between
// instances (median over rounds). CPU per request, not throughput: the load
// generator shares the machine's two cores.
//
//   node bench/middleware-cost.js [--frameworks express,fastify,koa] [--rounds 12] [--phase-seconds 3] [--connections 16]
const { spawn } = require('node:child_process');
const path = require('node:path');
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');
const { median } = require('./common');

const { values: args } = parseArgs({
  options: {
    frameworks: { type: 'string', default: 'express,fastify,koa' },
    rounds: { type: 'string', default: '12' },
    'phase-seconds': { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
  },
});

function startServer(framework) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'middleware-server.js')], {
      env: { ...process.env, FRAMEWORK: framework },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.once('error', reject);
    child.stdout.once('data', (d) => resolve({ child, ...JSON.parse(String(d)) }));
  });
}

const cpuOf = async (control) => (await (await fetch(`http://127.0.0.1:${control}/`)).json()).cpuMicros;

async function phase(port, control) {
  const before = await cpuOf(control);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/users/42`,
    headers: { 'x-tenant': 'acme' },
    connections: Number(args.connections),
    duration: Number(args['phase-seconds']),
  });
  const after = await cpuOf(control);
  return { nsPerRequest: ((after - before) * 1000) / result.requests.total, requests: result.requests.total };
}

async function measure(framework) {
  const server = await startServer(framework);
  try {
    const variants = Object.keys(server.ports);
    // Warm-up: every instance once, unmeasured.
    for (const v of variants) await phase(server.ports[v], server.control);
    const ns = Object.fromEntries(variants.map((v) => [v, []]));
    for (let round = 0; round < Number(args.rounds); round++) {
      // Rotate the order so no instance always follows the same one.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const v of order) ns[v].push((await phase(server.ports[v], server.control)).nsPerRequest);
    }
    const base = median(ns.without);
    // Paired by round (the three phases of a round are adjacent in time), with the spread of the pairs.
    const added = (v) => {
      const diffs = ns[v].map((x, i) => x - ns.without[i]).sort((a, b) => a - b);
      const q = (f) => diffs[Math.min(diffs.length - 1, Math.floor(f * diffs.length))];
      return { medianNs: Math.round(median(diffs)), q1Ns: Math.round(q(0.25)), q3Ns: Math.round(q(0.75)), percent: +((100 * median(diffs)) / base).toFixed(1) };
    };
    return { framework, cpuPerRequestWithoutNs: Math.round(base), endpoint: added('endpoint'), labels: added('labels'), rounds: Number(args.rounds) };
  } finally {
    server.child.kill('SIGTERM');
  }
}

/**
 * The plug-ins' own work, alone: per request, a root span started active and
 * ended, with and without the labelling the plug-ins do inside it (find the
 * local root, run a labels callback, set the route), in this process. It
 * resolves what the HTTP figure cannot: that one moves by a few µs between
 * identical instances.
 */
function labellingWork() {
  const api = require('@opentelemetry/api');
  const fs = require('node:fs');
  const os = require('node:os');
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const { ProfilingSpanProcessor } = require('@spanprof/opentelemetry');
  const { FileExporter, RequestLabeler } = require('@spanprof/core');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-bench-label-'));
  const provider = new NodeTracerProvider({ spanProcessors: [new ProfilingSpanProcessor({ exporter: new FileExporter({ directory: dir }) })] });
  provider.register();
  const tracer = api.trace.getTracer('bench');
  const endpointOnly = new RequestLabeler('bench', undefined);
  const withLabels = new RequestLabeler('bench', (req) => ({ tenant: req.headers['x-tenant'] }));
  const req = { headers: { 'x-tenant': 'acme' } };
  const run = (labeler, n) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      tracer.startActiveSpan('GET', (span) => {
        if (labeler !== undefined) labeler.route(labeler.begin(req), 'GET', '/users/:id');
        span.end();
      });
    }
    return Number(process.hrtime.bigint() - t) / n;
  };
  const ns = { none: [], endpoint: [], labels: [] };
  for (let round = 0; round < 7; round++) {
    ns.none.push(run(undefined, 50_000));
    ns.endpoint.push(run(endpointOnly, 50_000));
    ns.labels.push(run(withLabels, 50_000));
  }
  const base = median(ns.none.slice(1));
  const result = { endpointNs: Math.round(median(ns.endpoint.slice(1)) - base), labelsNs: Math.round(median(ns.labels.slice(1)) - base) };
  void provider.shutdown().then(() => fs.rmSync(dir, { recursive: true, force: true }));
  return result;
}

(async () => {
  const work = labellingWork();
  console.log(`labelling work alone (in process): endpoint ${work.endpointNs} ns, with labels callback ${work.labelsNs} ns per request`);
  const results = [];
  for (const framework of args.frameworks.split(',')) {
    const r = await measure(framework.trim());
    results.push(r);
    const fmt = (a) => `${a.medianNs} ns (${a.percent}%; middle half of rounds ${a.q1Ns} to ${a.q3Ns} ns)`;
    console.log(
      `${r.framework.padEnd(8)} CPU/request without middleware ${(r.cpuPerRequestWithoutNs / 1000).toFixed(1)} µs; added: middleware ${fmt(r.endpoint)}, with labels callback ${fmt(r.labels)}`,
    );
  }
  console.log(JSON.stringify({ node: process.version, labellingWork: work, results }));
})();
