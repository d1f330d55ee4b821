'use strict';
// Encoding and export cost per profile batch for each backend exporter: the CPU
// time of turning one 60-second batch (an HTTP service at 1,000 requests/s,
// default settings) into requests and sending them to a receiver on 127.0.0.1,
// and the bytes on the wire.
//
// Step 1 runs bench/server.js with spanprof (FileExporter) under a fixed
// 1,000 requests/s for one upload period; step 2 reads that period's profiles back
// into a batch and exports it repeatedly with each exporter.
//
//   node bench/export-cost.js [--period-seconds 60] [--rate 1000] [--repeat 5]
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const zlib = require('node:zlib');
const autocannon = require('autocannon');
const { Profile } = require('pprof-format');
const { readProfileTags } = require('@spanprof/core');
const { OTLPProfileExporter } = require('@spanprof/exporter-otlp');
const { PyroscopeExporter } = require('@spanprof/exporter-pyroscope');
const { DatadogProfileExporter } = require('@spanprof/exporter-datadog');

const { values: args } = parseArgs({
  options: {
    'period-seconds': { type: 'string', default: '60' },
    rate: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '5' },
  },
});
const periodMillis = Number(args['period-seconds']) * 1000;

/** Runs the bench server under load for one period and returns the directory it wrote profiles to. */
async function recordPeriod() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spanprof-export-cost-'));
  const child = spawn(process.execPath, [path.join(__dirname, 'server.js')], {
    env: { ...process.env, MODE: 'spanprof', WORK_UNITS: '5', PROFILES_DIR: dir, UPLOAD_PERIOD_MILLIS: String(periodMillis) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port)));
  const rate = Number(args.rate);
  await autocannon({ url: `http://127.0.0.1:${port}/items/42`, connections: 16, overallRate: rate, duration: Math.ceil(periodMillis / 1000) + 3 });
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGKILL');
  });
  return dir;
}

/** The first full period's wall, heap and events profiles as a batch, as the session hands it to exporters. */
function batchFrom(dir) {
  const files = fs.readdirSync(dir).sort();
  const pick = (kind) => files.find((f) => f.endsWith(`.${kind}.pb.gz`));
  const profiles = ['wall', 'heap'].map((kind) => {
    const encoded = fs.readFileSync(path.join(dir, pick(kind)));
    return { kind, profile: Profile.decode(zlib.gunzipSync(encoded)), encoded };
  });
  const wall = profiles[0].profile;
  const tags = readProfileTags(wall.comment.map((id) => wall.stringTable.strings[Number(id)]));
  const start = new Date(Number(BigInt(wall.timeNanos) / 1_000_000n));
  const end = new Date(start.getTime() + Number(BigInt(wall.durationNanos) / 1_000_000n));
  const eventsFile = pick('events');
  const encoded = eventsFile === undefined ? undefined : fs.readFileSync(path.join(dir, eventsFile));
  const events = encoded === undefined ? undefined : { kind: 'events', profile: Profile.decode(zlib.gunzipSync(encoded)), encoded };
  return { start, end, tags, profiles, events, sequence: 1 };
}

async function main() {
  console.error(`recording one ${periodMillis / 1000} s period at ${args.rate} requests/s ...`);
  const dir = await recordPeriod();
  const batch = batchFrom(dir);
  const wall = batch.profiles[0];
  const labelled = wall.profile.sample.filter((s) => s.label.length > 0).length;
  let bytes = 0;
  let requests = 0;
  const receiver = http.createServer((req, res) => {
    req.on('data', (c) => (bytes += c.length));
    req.on('end', () => {
      requests++;
      res.end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${receiver.address().port}`;
  const exporters = {
    'OTLP (gzip)': () => new OTLPProfileExporter({ url: `${base}/v1development/profiles` }),
    Pyroscope: () => new PyroscopeExporter({ serverAddress: base }),
    Datadog: () => new DatadogProfileExporter({ url: base }),
  };
  const repeat = Number(args.repeat);
  const rows = [];
  for (const [name, make] of Object.entries(exporters)) {
    const exporter = make();
    await exporter.export(batch); // warm-up
    bytes = 0;
    requests = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < repeat; i++) {
      const result = await exporter.export(batch);
      if (result.code !== 0) throw result.error;
    }
    const cpu = process.cpuUsage(cpu0);
    rows.push({
      name,
      cpuMillis: (cpu.user + cpu.system) / 1000 / repeat,
      wallMillis: (performance.now() - t0) / repeat,
      bytes: bytes / repeat,
      requests: requests / repeat,
    });
    await exporter.shutdown();
  }
  receiver.close();
  const result = {
    node: process.version,
    date: new Date().toISOString(),
    periodSeconds: periodMillis / 1000,
    rate: Number(args.rate),
    wallSamples: wall.profile.sample.length,
    labelledSamples: labelled,
    pprofBytes: { wall: wall.encoded.length, heap: batch.profiles[1].encoded.length, events: batch.events?.encoded.length ?? 0 },
    events: batch.events?.profile.sample.length ?? 0,
    exporters: rows,
  };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'export-cost.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `\nExport cost of one ${result.periodSeconds} s batch at ${result.rate} requests/s, Node ${process.version}: ` +
      `${result.wallSamples} wall samples (${labelled} span-labelled); gzipped pprof ${(result.pprofBytes.wall / 1024).toFixed(1)} KiB wall + ${(result.pprofBytes.heap / 1024).toFixed(1)} KiB heap + ${(result.pprofBytes.events / 1024).toFixed(1)} KiB events (${result.events} events)`,
  );
  console.log('| exporter | requests | CPU per batch | bytes on the wire |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.name} | ${r.requests} | ${r.cpuMillis.toFixed(1)} ms | ${(r.bytes / 1024).toFixed(1)} KiB |`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
