'use strict';
// spanprof versions example: the same service deployed twice, release 1.4.0 then
// 1.5.0 (whose applyDiscounts got slower), each under the same load and
// profiled by `@spanprof/auto/register` into one directory; then
// `spanprof diff` says which function changed.
//
//   node examples/versions/run.js [--duration 8] [--profiles DIR] [--json]
const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { main } = require('@spanprof/cli');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    profiles: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const durationMs = Math.max(1, Number(args.duration)) * 1000;
const profileDir = path.resolve(args.profiles ?? 'profiles');
const log = (line) => process.stderr.write(`${line}\n`);

/** Starts one release under the bundle; resolves with its port once it listens. */
function startRelease(version) {
  const child = spawn(process.execPath, ['--require', '@spanprof/auto/register', path.join(__dirname, 'server.js')], {
    cwd: __dirname,
    env: {
      ...process.env,
      PORT: '0',
      APP_VERSION: version,
      OTEL_SERVICE_NAME: 'shop',
      OTEL_RESOURCE_ATTRIBUTES: `service.version=${version},deployment.environment.name=staging`,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
      SPANPROF_PROFILES_DIR: profileDir,
      SPANPROF_UPLOAD_PERIOD_MILLIS: '5000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`release ${version} exited (${code}) before listening`)));
  });
}

/** Sends requests, 8 at a time, for `ms`: three quotes for every catalog page. */
async function drive(port, ms) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const deadline = Date.now() + ms;
  let sent = 0;
  const one = (p) =>
    new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < deadline) {
        const n = sent++;
        await one(n % 4 === 3 ? '/catalog' : `/quote/sku-${n % 500}`);
      }
    }),
  );
  agent.destroy();
  return sent;
}

async function run() {
  for (const version of ['1.4.0', '1.5.0']) {
    const { child, port } = await startRelease(version);
    const sent = await drive(port, durationMs);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM'); // the bundle writes the final profile on the way out
    await exited;
    log(`release ${version}: ${sent} requests in ${durationMs / 1000} s`);
  }
  log(`\nspanprof diff ${profileDir} --base service.version=1.4.0 --head service.version=1.5.0\n`);
  const diffArgs = ['diff', profileDir, '--base', 'service.version=1.4.0', '--head', 'service.version=1.5.0', '--limit', '5'];
  process.exitCode = await main([process.argv[0], 'spanprof', ...diffArgs, ...(args.json ? ['--json'] : [])]);
  if (!args.json) log(`\nOpen the comparison in the viewer: npx spanprof view ${path.relative(process.cwd(), profileDir) || '.'}  (then "Compare versions")`);
}

run().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
