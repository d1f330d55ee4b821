'use strict';
// A real OpenTelemetry metrics SDK whose reader exports on demand to memory.
const { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');

/** A MeterProvider whose reader exports on demand to memory, one collection period per flush. */
function startMetrics() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  /** The metrics recorded since the last call, by name: { descriptor, dataPointType, points: [{ attributes, value }] }. */
  const take = async () => {
    await reader.forceFlush();
    const byName = {};
    for (const rm of exporter.getMetrics()) {
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          const entry = (byName[m.descriptor.name] ??= {
            descriptor: m.descriptor,
            dataPointType: m.dataPointType,
            isMonotonic: m.isMonotonic,
            scope: sm.scope,
            points: [],
          });
          for (const p of m.dataPoints) entry.points.push({ attributes: p.attributes, value: p.value });
        }
      }
    }
    exporter.reset();
    return byName;
  };
  return { meterProvider, take };
}

module.exports = { startMetrics };
