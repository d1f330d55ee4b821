'use strict';
// Express handing CPU work to a worker thread inside the request's span:
//   node --require @spanprof/auto/register app.js
// The worker inherits --require, so the bundle profiles it too. The request's trace context
// goes with each job (propagation.inject), and the worker's span continues that trace.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const express = require('express');
const { context, propagation } = require('@opentelemetry/api');
const { spanprof } = require('@spanprof/express');
const { renderUser, priceOrder, io } = require('../shared/work');

// One long-lived worker; `name` becomes the `thread_name` label of its samples (Node 22+).
const worker = new Worker(path.join(__dirname, 'worker.js'), { name: 'reports' });
const pending = new Map();
let nextJob = 0;
worker.on('message', ({ job, result }) => {
  pending.get(job)?.(result);
  pending.delete(job);
});

/** Runs a report in the worker; the active span's context travels with it. */
function buildReportInWorker(reportId) {
  const carrier = {};
  propagation.inject(context.active(), carrier);
  const job = nextJob++;
  return new Promise((resolve) => {
    pending.set(job, resolve);
    worker.postMessage({ job, reportId, carrier });
  });
}

const app = express();
app.use(spanprof());
app.get('/users/:id', async (req, res) => {
  await io();
  res.json({ size: renderUser(req.params.id) });
});
app.get('/reports/:id', async (req, res) => {
  const checksum = await buildReportInWorker(req.params.id);
  // Some of the request's work stays on the main thread: its trace is on both threads.
  res.json({ checksum, price: priceOrder(checksum) });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// Stop in order: no new requests, then the worker ends its work and flushes its last profile
// (a worker that is terminate()d, or still running at exit, loses the period since its last one).
process.on('SIGTERM', () => {
  server.close();
  worker.postMessage({ stop: true });
});
