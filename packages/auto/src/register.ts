/**
 * `node --require @spanprof/auto/register app.js`: OpenTelemetry tracing with
 * the auto-instrumentations and spanprof's profiler, configured from the
 * environment. (`--import @spanprof/auto/register` loads register.mjs, which
 * adds the ES module hook and then this.)
 */
import { startBundle } from './sdk';

startBundle();
