'use strict';
// spanprof's own CPU cost above the samplers it drives, and what dd-trace's
// profiler costs above dd-trace's tracing, in one alternating run of HTTP
// requests. One server process per subject (bench/server.js), all started at
// once and kept up for the whole run of a workload:
//
//   tracing           OpenTelemetry HTTP instrumentation and a batch span processor (MODE=tracing)
//   samplers          tracing plus @datadog/pprof's wall/CPU and heap profilers started and
//                     collected as spanprof does at its defaults, no sample context, no labels
//                     (MODE=samplers)
//   samplers-aa       a second, identical samplers process: its ratio to samplers is the
//                     run's own noise (A/A control)
//   spanprof          tracing plus ProfilingSpanProcessor at its defaults (MODE=spanprof)
//   spanprof-lean     the same without its I/O and GC events and its event-loop block monitor
//                     (events: false, blockThresholdMillis: 0): their cost is spanprof / spanprof-lean
//   dd-trace-tracing  the same handler traced by dd-trace, its profiler off (MODE=dd-trace)
//   dd-trace          dd-trace with its profiler on at its defaults (DD_PROFILING_ENABLED=true)
//
// Each subject is warmed up, then every round autocannon drives each subject in
// turn (the first one rotates from round to round, so order bias cancels) for
// --phase-seconds at saturating load. Over each phase the server's CPU time (all
// threads, /proc/<pid>/stat) and its main thread's, divided by the 2xx answers,
// give CPU per request; throughput and p99 latency come from autocannon. Ratios
// of two subjects are taken per round and reported as the median over rounds
// with a distribution-free 95% interval; peak RSS is VmHWM at the end. CPU per
// request rather than throughput is the figure: the load generator shares the
// machine's cores, so throughput also moves with what it gets.
//
// dd-trace is no dependency of this repository: it is installed on first use
// into <tmpdir>/spanprof-bench-cache/dd-trace-<version> (6.x on Node >= 22, 5.x
// before: 6.x needs Node 22). Each dd-trace subject uploads to its own fake agent
// on 127.0.0.1 that answers 200 to everything, so that failing uploads cost
// nothing; what each agent received is printed (and checked: traces must arrive,
// and profiles too once the run is longer than dd-trace's 65 s upload period).
//
// What it leaves out: spanprof's and the samplers' periodic collection (every
// 60 s) and dd-trace's (every 65 s) are counted only when they fall inside the
// subject's own phase, about one time in six; bench/http-overhead.js reports
// spanprof's collection pause. spanprof's figure includes writing its profiles
// with the FileExporter (to a temporary directory, removed at the end).
//
//   node bench/own-cost.js [--workloads light,medium] [--rounds 10] [--phase-seconds 4] [--warmup-seconds 3] [--connections 16]
//                          [--subjects tracing,samplers,samplers-aa,spanprof,spanprof-lean,dd-trace-tracing,dd-trace] [--node PATH ...] [--node-flags '...'] [--json FILE]
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const autocannon = require('autocannon');
const { median, medianInterval, peakRssBytes, processCpuMicros, startServer, stopAllChildren, stopChildrenOnSignals } = require('./common');
const { mainThreadCpuNanos } = require('./main-thread-cpu');

const SUBJECTS = {
  tracing: { MODE: 'tracing' },
  samplers: { MODE: 'samplers' },
  'samplers-aa': { MODE: 'samplers' },
  spanprof: { MODE: 'spanprof' },
  'spanprof-lean': { MODE: 'spanprof', EVENTS: '0', BLOCKS: '0' },
  'dd-trace-tracing': { MODE: 'dd-trace', DD_PROFILING_ENABLED: 'false' },
  'dd-trace': { MODE: 'dd-trace', DD_PROFILING_ENABLED: 'true' },
};
/** Per-round CPU-per-request ratios reported: [numerator, denominator]. */
const RATIOS = [
  ['spanprof', 'samplers'],
  ['spanprof-lean', 'samplers'],
  ['spanprof', 'spanprof-lean'],
  ['samplers', 'tracing'],
  ['spanprof', 'tracing'],
  ['samplers-aa', 'samplers'],
  ['dd-trace', 'dd-trace-tracing'],
];
/** Units of ~40 µs of work per request (see server.js). */
const WORKLOADS = { light: 1, medium: 8 };
/** dd-trace releases measured, by the oldest Node major they support (check `npm view dd-trace version`). */
const DD_TRACE_RELEASES = [
  { minNode: 22, version: '6.21.0' },
  { minNode: 18, version: '5.132.0' },
];

const { values: args } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'light,medium' },
    rounds: { type: 'string', default: '10' },
    'phase-seconds': { type: 'string', default: '4' },
    'warmup-seconds': { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    subjects: { type: 'string', default: Object.keys(SUBJECTS).join(',') },
    node: { type: 'string', multiple: true, default: [process.execPath] },
    'node-flags': { type: 'string', default: '' },
    json: { type: 'string' },
  },
});
/** Flags every server process gets (e.g. a fixed young generation, for steadier figures). */
const nodeFlags = args['node-flags'].split(' ').filter(Boolean);
const rounds = Number(args.rounds);
const phaseSeconds = Number(args['phase-seconds']);
const connections = Number(args.connections);
const subjectNames = args.subjects.split(',').map((s) => s.trim());
const workloadNames = args.workloads.split(',').map((s) => s.trim());
for (const s of subjectNames) if (!(s in SUBJECTS)) throw new Error(`unknown subject ${s} (known: ${Object.keys(SUBJECTS).join(', ')})`);
for (const w of workloadNames) if (!(w in WORKLOADS)) throw new Error(`unknown workload ${w} (known: ${Object.keys(WORKLOADS).join(', ')})`);

/** The dd-trace package directory for a Node major, installed with npm on first use. */
function ddTraceModule(nodeMajor) {
  const release = DD_TRACE_RELEASES.find((r) => nodeMajor >= r.minNode);
  if (!release) throw new Error(`no dd-trace release measured for Node ${nodeMajor}`);
  const dir = path.join(os.tmpdir(), 'spanprof-bench-cache', `dd-trace-${release.version}`);
  const module = path.join(dir, 'node_modules', 'dd-trace');
  if (!fs.existsSync(path.join(module, 'package.json'))) {
    console.error(`installing dd-trace@${release.version} into ${dir}`);
    fs.mkdirSync(dir, { recursive: true });
    const quiet = { ...process.env, npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };
    execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', `dd-trace@${release.version}`], {
      cwd: dir,
      env: quiet,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    });
  }
  return { module, version: release.version };
}

/**
 * A stand-in for the Datadog agent on 127.0.0.1: drains any request, counts it
 * by method and path, and answers 200 with no sampling rates (a bare {} would
 * make dd-trace log an error at every trace flush). It runs in this process,
 * beside the load generator.
 */
function startFakeAgent() {
  const received = {};
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url.split('?')[0]}`;
    req.resume();
    req.on('end', () => {
      received[key] = (received[key] ?? 0) + 1;
      res.setHeader('content-type', 'application/json');
      res.end('{"rate_by_service":{}}');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const close = () => {
        server.closeAllConnections();
        server.close();
      };
      resolve({ url: `http://127.0.0.1:${server.address().port}`, received, close });
    });
  });
}

/** One load phase against a subject: its CPU and main-thread CPU over the phase, and autocannon's figures. */
async function phase(subject, seconds) {
  const pid = subject.child.pid;
  const cpu = processCpuMicros(pid);
  const main = mainThreadCpuNanos(pid);
  const r = await autocannon({ url: `http://127.0.0.1:${subject.port}/items/42`, connections, duration: seconds });
  const cpuMicros = processCpuMicros(pid) - cpu;
  const mainCpuMicros = (mainThreadCpuNanos(pid) - main) / 1000;
  const requests = r['2xx'];
  return {
    requests,
    seconds: r.duration,
    rps: requests / r.duration,
    p99Millis: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuMicros,
    mainCpuMicros,
    cpuMicrosPerRequest: cpuMicros / requests,
    mainCpuMicrosPerRequest: mainCpuMicros / requests,
  };
}

/** All subjects up at once for one workload on one Node binary; rounds of phases; raw figures. */
async function runWorkload(node, workload) {
  const servers = {};
  const agents = {};
  const cleanups = [];
  try {
    const env = { WORK_UNITS: String(WORKLOADS[workload]) };
    const started = await Promise.allSettled(
      subjectNames.map(async (name) => {
        const subjectEnv = { ...env, ...SUBJECTS[name] };
        if (subjectEnv.MODE === 'dd-trace') {
          const agent = await startFakeAgent();
          agents[name] = agent;
          cleanups.push(() => agent.close());
          Object.assign(subjectEnv, {
            BENCH_DD_TRACE_MODULE: node.ddTrace.module,
            DD_TRACE_AGENT_URL: agent.url,
            DD_SERVICE: 'spanprof-bench',
            DD_TRACE_STARTUP_LOGS: 'false',
            DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
            DD_REMOTE_CONFIGURATION_ENABLED: 'false',
            DD_RUNTIME_METRICS_ENABLED: 'false',
          });
        }
        if (subjectEnv.MODE === 'spanprof') {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-bench-own-'));
          cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
          subjectEnv.PROFILES_DIR = dir;
        }
        servers[name] = await startServer({ node: node.path, env: subjectEnv, args: nodeFlags });
      }),
    );
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const startedAt = Date.now();

    for (const name of subjectNames) await phase(servers[name], Number(args['warmup-seconds']));
    const phases = Object.fromEntries(subjectNames.map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = subjectNames.map((_, i) => subjectNames[(i + round) % subjectNames.length]);
      for (const name of order) phases[name].push({ round, ...(await phase(servers[name], phaseSeconds)) });
      const line = subjectNames.map((name) => `${name} ${phases[name][round].cpuMicrosPerRequest.toFixed(1)}`).join(', ');
      console.error(`${node.version} ${workload} round ${round + 1}/${rounds}: CPU µs/request ${line}`);
    }
    const subjects = {};
    for (const name of subjectNames) {
      subjects[name] = { peakRssBytes: peakRssBytes(servers[name].child.pid), phases: phases[name] };
      if (agents[name]) subjects[name].agentReceived = { ...agents[name].received };
    }
    return { workUnits: WORKLOADS[workload], seconds: (Date.now() - startedAt) / 1000, subjects };
  } finally {
    await stopAllChildren();
    for (const cleanup of cleanups) cleanup();
  }
}

/** Medians per subject and per-round ratios (median, 95% interval) of one workload's raw figures. */
function summarise(w) {
  const s = w.subjects;
  const per = (name, key) => s[name].phases.map((p) => p[key]);
  const subjects = {};
  for (const [name, { phases, peakRssBytes: rss }] of Object.entries(s)) {
    subjects[name] = {
      cpuMicrosPerRequest: median(per(name, 'cpuMicrosPerRequest')),
      mainCpuMicrosPerRequest: median(per(name, 'mainCpuMicrosPerRequest')),
      rps: median(per(name, 'rps')),
      p99Millis: median(per(name, 'p99Millis')),
      peakRssMiB: rss / 2 ** 20,
      errors: phases.reduce((t, p) => t + p.errors, 0),
    };
  }
  const perRound = (a, b, key, f = (x, y) => x / y) => s[a].phases.map((p, i) => f(p[key], s[b].phases[i][key]));
  const summary = (xs) => ({ median: median(xs), interval95: medianInterval(xs), perRound: xs });
  const ratios = {};
  for (const [a, b] of RATIOS) if (s[a] && s[b]) ratios[`${a}/${b}`] = summary(perRound(a, b, 'cpuMicrosPerRequest'));
  const own = s.spanprof && s.samplers;
  return {
    subjects,
    cpuPerRequestRatios: ratios,
    spanprofOwnMicrosPerRequest: own ? summary(perRound('spanprof', 'samplers', 'cpuMicrosPerRequest', (x, y) => x - y)) : undefined,
    spanprofVsSamplers: own
      ? {
          rpsRatio: median(perRound('spanprof', 'samplers', 'rps')),
          p99Ratio: median(perRound('spanprof', 'samplers', 'p99Millis')),
          peakRssMiB: subjects.spanprof.peakRssMiB - subjects.samplers.peakRssMiB,
        }
      : undefined,
    // Peak RSS of two identical processes differs too (GC heuristics): the scale for the RSS figures.
    aaPeakRssMiB: s['samplers-aa'] && s.samplers ? subjects['samplers-aa'].peakRssMiB - subjects.samplers.peakRssMiB : undefined,
    ddTraceProfilingPeakRssMiB: s['dd-trace'] && s['dd-trace-tracing'] ? subjects['dd-trace'].peakRssMiB - subjects['dd-trace-tracing'].peakRssMiB : undefined,
  };
}

/** What the fake agents received, and a warning when dd-trace did not trace or profile. */
function agentReport(w) {
  const lines = [];
  for (const [name, subject] of Object.entries(w.subjects)) {
    if (!subject.agentReceived) continue;
    const got = subject.agentReceived;
    const text =
      Object.entries(got)
        .map(([k, n]) => `${k} x${n}`)
        .join(', ') || 'nothing';
    lines.push(`  fake agent of ${name}: ${text}`);
    const has = (re) => Object.keys(got).some((k) => re.test(k));
    if (!has(/\/v0\.[45]\/traces$/)) lines.push(`  WARNING: ${name} sent no traces`);
    const uploadSeconds = Number(process.env.DD_PROFILING_UPLOAD_PERIOD ?? 65);
    if (name === 'dd-trace' && !has(/\/profiling\/v1\/input$/)) {
      lines.push(
        w.seconds > uploadSeconds + 10
          ? `  WARNING: ${name} sent no profile in ${w.seconds.toFixed(0)} s`
          : `  (${name}: no profile upload yet, the run was shorter than its ${uploadSeconds} s upload period)`,
      );
    }
  }
  return lines;
}

/** A figure with its sign, never "-0.0". */
const signed = (x, digits = 1) => {
  const text = Math.abs(x).toFixed(digits);
  return `${x < 0 && Number(text) !== 0 ? '-' : '+'}${text}`;
};
const percent = (ratio) => `${signed((ratio - 1) * 100)}%`;
const withInterval = (r, unit = '%') =>
  `${signed((r.median - 1) * 100)}${unit} (${signed((r.interval95[0] - 1) * 100)} to ${signed((r.interval95[1] - 1) * 100)})`;

function printWorkload(run, name, w) {
  const sum = w.summary;
  console.log(`\n${run.node} (${path.basename(run.nodePath)}), ${name}: ${rounds} rounds of ${phaseSeconds} s phases, ${connections} connections`);
  console.log('| subject | CPU µs/req | main thread µs/req | req/s | p99 ms | peak RSS MiB | errors |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [subject, m] of Object.entries(sum.subjects)) {
    console.log(
      `| ${subject} | ${m.cpuMicrosPerRequest.toFixed(1)} | ${m.mainCpuMicrosPerRequest.toFixed(1)} | ${m.rps.toFixed(0)} | ${m.p99Millis} | ${m.peakRssMiB.toFixed(1)} | ${m.errors} |`,
    );
  }
  for (const [ratio, r] of Object.entries(sum.cpuPerRequestRatios)) console.log(`  CPU/request ${ratio}: ${withInterval(r)}`);
  if (sum.aaPeakRssMiB !== undefined) console.log(`  peak RSS samplers-aa - samplers (A/A): ${signed(sum.aaPeakRssMiB)} MiB`);
  for (const line of agentReport(w)) console.log(line);
}

function printTable(runs) {
  const cell = (x, f) => (x === undefined ? 'n/a' : f(x));
  console.log(
    '\n| Node | workload | tracing CPU/req | +samplers | +spanprof | spanprof own (pts; µs) | A/A | req/s own | p99 own | RSS own | dd-trace prof. CPU | dd-trace prof. RSS |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const run of runs) {
    for (const [name, w] of Object.entries(run.workloads)) {
      const { subjects, cpuPerRequestRatios: r, spanprofOwnMicrosPerRequest: ownMicros, spanprofVsSamplers: own } = w.summary;
      const pts = (x) => `${signed((x.median - 1) * 100)} (${signed((x.interval95[0] - 1) * 100)} to ${signed((x.interval95[1] - 1) * 100)})`;
      const row = [
        run.node,
        `${name} (${w.workUnits})`,
        cell(subjects.tracing, (t) => `${t.cpuMicrosPerRequest.toFixed(1)} µs`),
        cell(r['samplers/tracing'], (x) => percent(x.median)),
        cell(r['spanprof/tracing'], (x) => percent(x.median)),
        cell(r['spanprof/samplers'], (x) => `**${pts(x)}; ${signed(ownMicros.median)} µs**`),
        cell(r['samplers-aa/samplers'], withInterval),
        cell(own, (o) => percent(o.rpsRatio)),
        cell(own, (o) => percent(o.p99Ratio)),
        cell(own, (o) => `${signed(o.peakRssMiB)} MiB`),
        cell(r['dd-trace/dd-trace-tracing'], withInterval),
        cell(w.summary.ddTraceProfilingPeakRssMiB, (x) => `${signed(x)} MiB`),
      ];
      console.log(`| ${row.join(' | ')} |`);
    }
  }
  console.log(
    '\nCPU/req: server CPU time (all threads) per 2xx answer, median over rounds; +samplers, +spanprof: vs tracing; ' +
      'spanprof own: (spanprof / samplers - 1) x 100 per round, median (95% interval), and the median difference in µs per request; ' +
      'A/A: samplers-aa vs samplers, the noise of this run; req/s, p99, RSS own: spanprof vs samplers (peak RSS, MiB above); ' +
      'dd-trace prof.: dd-trace with its profiler vs dd-trace tracing only.',
  );
}

async function main() {
  stopChildrenOnSignals();
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, load: os.loadavg() },
    rounds,
    phaseSeconds,
    warmupSeconds: Number(args['warmup-seconds']),
    connections,
    subjects: subjectNames,
    runs: [],
  };
  const needsDdTrace = subjectNames.some((s) => SUBJECTS[s].MODE === 'dd-trace');
  for (const nodePath of args.node) {
    const version = execFileSync(nodePath, ['--version'], { encoding: 'utf8' }).trim();
    const node = { path: nodePath, version, ddTrace: needsDdTrace ? ddTraceModule(Number(version.slice(1).split('.')[0])) : undefined };
    const run = { node: version, nodePath, ddTrace: node.ddTrace?.version, workloads: {} };
    result.runs.push(run);
    for (const name of workloadNames) {
      const w = await runWorkload(node, name);
      w.summary = summarise(w);
      run.workloads[name] = w;
      printWorkload(run, name, w);
    }
  }
  const file = args.json ?? path.join(__dirname, 'results', `own-cost-${result.date.slice(0, 19).replace(/:/g, '-')}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  result.machine.loadAtEnd = os.loadavg();
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  printTable(result.runs);
  console.log(`\nraw figures: ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
