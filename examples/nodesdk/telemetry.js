'use strict';
// OpenTelemetry set up in code, as most services do, with spanprof's span
// processor next to the one that exports spans. Loaded first:
//   node --require ./telemetry.js app.js
// profilingSpanProcessorFromEnv() reads SPANPROF_* (exporters, directory,
// sampling); `new ProfilingSpanProcessor({ ... })` from @spanprof/opentelemetry
// takes the same settings in code.
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');
const { BatchSpanProcessor, ConsoleSpanExporter } = require('@opentelemetry/sdk-trace-base');
const { profilingSpanProcessorFromEnv, SpanprofContextManager } = require('@spanprof/auto');

const sdk = new NodeSDK({
  serviceName: 'nodesdk-example',
  // OpenTelemetry's stock context manager that also carries spanprof's sample context.
  contextManager: new SpanprofContextManager(),
  instrumentations: [getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-fs': { enabled: false } })],
  spanProcessors: [
    // Spans go wherever they went before; here, nowhere unless asked for.
    ...(process.env.SHOW_SPANS === '1' ? [new BatchSpanProcessor(new ConsoleSpanExporter())] : []),
    profilingSpanProcessorFromEnv(),
  ],
});
sdk.start();

// Flush the last profile and spans on the way out; the process still exits as the signal asks.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    sdk.shutdown().finally(() => process.kill(process.pid, signal));
  });
}
