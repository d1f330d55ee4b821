// `node --import @spanprof/auto/register app.mjs`: ES module apps. OpenTelemetry's
// loader hook (import-in-the-middle) lets the instrumentations patch ES modules
// as well; then the same start-up as `--require`.
import { createRequire, register } from 'node:module';

try {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
} catch (err) {
  process.emitWarning(`the OpenTelemetry ES module hook could not be registered (${String(err)}); ES modules are not instrumented`, { code: 'SPANPROF_W001' });
}
createRequire(import.meta.url)('./build/src/register.js');
