/**
 * `node --require @spanprof/auto/register app.js`: OpenTelemetry tracing with
 * the auto-instrumentations and spanprof's profiler, configured from the
 * environment. (`--import @spanprof/auto/register` loads register.mjs, which
 * adds the ES module hook and then this.) Worker threads inherit the flag: in
 * them only the worker's tracer provider and profiler start (see `startWorkerBundle`).
 */
import { isMainThread } from 'node:worker_threads';
import type * as MainThread from './sdk';
import type * as WorkerThread from './worker';

/* eslint-disable @typescript-eslint/no-require-imports -- each thread loads only its own modules */
if (isMainThread) (require('./sdk') as typeof MainThread).startBundle();
else (require('./worker') as typeof WorkerThread).startWorkerBundle();
