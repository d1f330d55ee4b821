'use strict';
// The report worker: plain OpenTelemetry API. The bundle (inherited --require) gives this
// thread its tracer provider and profiler; the span continues the request's trace.
const { parentPort } = require('node:worker_threads');
const { context, propagation, trace } = require('@opentelemetry/api');

const tracer = trace.getTracer('reports-worker');

/** The worker's hotspot: CPU work the main thread hands off. */
function crunchNumbers(seed) {
  let x = 0;
  for (let i = 0; i < 3_000_000; i++) x = (x + Math.sqrt(i * seed)) % 1_000_003;
  return Math.round(x);
}

parentPort.on('message', (message) => {
  if (message.stop) {
    parentPort.close(); // nothing left to do: the thread ends, after the bundle's flush
    return;
  }
  const { job, reportId, carrier } = message;
  const parent = propagation.extract(context.active(), carrier);
  tracer.startActiveSpan('build report', {}, parent, (span) => {
    const result = crunchNumbers(Number(reportId) + 1);
    span.end();
    parentPort.postMessage({ job, result });
  });
});
