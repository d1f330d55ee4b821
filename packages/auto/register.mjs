// `node --import @spanprof/auto/register app.mjs`: ES module apps. OpenTelemetry's
// loader hook (import-in-the-middle) lets the instrumentations patch ES modules
// as well; then the same start-up as `--require`.
// Worker threads inherit the flag; nothing is instrumented in them (see worker.ts), so no hook.
import { createRequire, register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  try {
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  } catch (err) {
    process.emitWarning(`the OpenTelemetry ES module hook could not be registered (${String(err)}); ES modules are not instrumented`, {
      code: 'SPANPROF_W001',
    });
  }
}
createRequire(import.meta.url)('./build/src/register.js');
