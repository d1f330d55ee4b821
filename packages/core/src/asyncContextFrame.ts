import { AsyncLocalStorage } from 'node:async_hooks';

let active: boolean | undefined;

/**
 * Whether `AsyncLocalStorage` runs on AsyncContextFrame in this thread (Node 24
 * by default; Node 22 only with `--experimental-async-context-frame`; either can be
 * turned off by flag, also through NODE_OPTIONS). Detected, not inferred from the
 * version: the async_hooks implementation of AsyncLocalStorage keeps stores on
 * async resources and has `_propagate`; the frame implementation has neither,
 * and pprof's own probe (which reads the frame natively) is asked first.
 */
export function isAsyncContextFrameActive(): boolean {
  if (active === undefined) active = probe();
  return active;
}

function probe(): boolean {
  try {
    // Not part of @datadog/pprof's documented surface, hence the fallback.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const acf = require('@datadog/pprof/out/src/async-context-frame') as { isAsyncContextFrameActive?: () => boolean };
    if (typeof acf.isAsyncContextFrameActive === 'function') return acf.isAsyncContextFrameActive();
  } catch {
    // fall through to the structural check
  }
  const proto = AsyncLocalStorage.prototype as unknown as Record<string, unknown>;
  return typeof proto._propagate !== 'function' && Number(process.versions.node.split('.')[0]) >= 22;
}
