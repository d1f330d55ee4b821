'use strict';
// A service under test as a real process: started with `node [flags] file` on port 0,
// driven with concurrent requests on 127.0.0.1.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

/** Starts `node [flags] file`; resolves once it prints the address it listens on. */
function start(file, { flags = [], env = {}, node = process.execPath } = {}) {
  const child = spawn(node, [...flags, path.basename(file)], {
    cwd: path.dirname(file),
    env: {
      ...process.env,
      PORT: '0',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      // The cloud detectors would probe metadata endpoints this machine has not got.
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
      SPANPROF_SAMPLING_INTERVAL_MICROS: '1000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start: ${out.stderr}`)), 20_000);
    const look = () => {
      const m = out.stdout.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', look);
    exited.then(() => reject(new Error(`${file} exited early: ${out.stderr}`)));
  });
  return { child, out, exited, listening };
}

/** Sends `requests` (path, headers) with `concurrency` in flight; every answer must be 200. */
async function drive(port, requests, concurrency = 16) {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const { url, headers } = requests[next++];
      const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers });
      await res.arrayBuffer();
      assert.equal(res.status, 200, url);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * The bundle's trace export to a receiver (`startReceiver`) as OTLP/JSON, flushed only at
 * shutdown (so SIGTERM must not lose a span), with HTTP as the only instrumentation.
 */
function traceExportEnv(receiverUrl) {
  return {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiverUrl}/v1/traces`,
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100000',
    OTEL_BSP_MAX_QUEUE_SIZE: '100000',
    OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http',
  };
}

/**
 * On the time-split fixture (test/fixtures/time-split.js): 20 requests to `/wait` (2 s each)
 * in flight, then one to `/block` (a 300 ms synchronous loop); resolves when all have answered.
 */
async function waitingThenBlock(port) {
  const get = async (route) => (await fetch(`http://127.0.0.1:${port}${route}`)).text();
  const waits = Array.from({ length: 20 }, () => get('/wait'));
  while (Number(await get('/count')) < 20) await new Promise((resolve) => setTimeout(resolve, 20));
  await get('/block');
  await Promise.all(waits);
}

module.exports = { drive, start, traceExportEnv, waitingThenBlock };
