import { AsyncLocalStorage } from 'node:async_hooks';
import { time } from '@datadog/pprof';
import { logger } from './diag';

type RunFn = (this: AsyncLocalStorage<unknown>, store: unknown, fn: (...args: unknown[]) => unknown, ...args: unknown[]) => unknown;

const protoRun = AsyncLocalStorage.prototype.run as unknown as RunFn;
const protoGetStore = AsyncLocalStorage.prototype.getStore as (this: AsyncLocalStorage<unknown>) => unknown;

/**
 * The AsyncLocalStorage that `@datadog/pprof`'s wall profiler reads its sample
 * context from when it runs on AsyncContextFrame (`useCPED`), and a way to make
 * the "context holders" it expects there.
 *
 * Under CPED the profiler's signal handler looks its storage up in the current
 * AsyncContextFrame and reads a holder: an object with a native field that only
 * `time.runWithContext` makes (it makes one and enters a frame holding it). A
 * holder is taken from inside that frame (`getStore()` of the storage), and can
 * then be entered as often as needed, or carried in frames entered by
 * spanprof's context manager.
 *
 * pprof 5.20 has no public way to name its storage: it is found once per
 * profiler start (`find()`), never on a switch. If that fails, callers fall back
 * to `runWithContext` for every switch.
 */
export class PprofStorage {
  private readonly read: () => unknown;

  private constructor(readonly key: AsyncLocalStorage<unknown>) {
    this.read = (): unknown => protoGetStore.call(key);
  }

  /** pprof's storage, or undefined (logged) when it cannot be found and checked. Never throws. */
  static find(): PprofStorage | undefined {
    const key = findKey();
    if (key === undefined) return undefined;
    const storage = new PprofStorage(key);
    // The holder must be what the profiler reads back in a frame entered with it.
    const probe = {};
    const holder = storage.holder(probe);
    if (holder === undefined || storage.run(holder, (): unknown => time.getContext()) !== probe) {
      logger.debug('pprof storage found, but its holders do not read back');
      return undefined;
    }
    return storage;
  }

  /** A new holder whose sample context is `value` (none for undefined); undefined if pprof refused. */
  holder(value: object | undefined): object | undefined {
    let holder: unknown;
    try {
      holder = time.runWithContext(value as object, this.read);
    } catch (err) {
      logger.debug('runWithContext failed', err);
    }
    return typeof holder === 'object' && holder !== null ? holder : undefined;
  }

  /**
   * Runs `fn(holder)` in the frame `runWithContext` enters with a new holder of `value`: the
   * holder is made and entered at the cost of one frame. `fn(undefined)` if pprof refused.
   */
  runWithNewHolder<R>(value: object, fn: (holder: object | undefined) => R): R {
    let entered = false;
    try {
      return time.runWithContext(value, () => {
        entered = true;
        const holder = this.read();
        return fn(typeof holder === 'object' && holder !== null ? holder : undefined);
      });
    } catch (err) {
      // A throw of `fn`'s own goes on up; one of pprof's, before `fn` ran, leaves `fn` to run without a holder.
      if (entered) throw err;
      logger.debug('runWithContext failed', err);
      return fn(undefined);
    }
  }

  /** Runs `fn()` in a frame whose sample context is the holder's. */
  run<R>(holder: object, fn: () => R): R {
    return protoRun.call(this.key, holder, fn) as R;
  }
}

/**
 * The storage pprof's `runWithContext` enters, found by watching which
 * AsyncLocalStorage's `run` it calls; undefined if anything about that fails.
 */
function findKey(): AsyncLocalStorage<unknown> | undefined {
  const proto = AsyncLocalStorage.prototype as unknown as { run: RunFn };
  let found: AsyncLocalStorage<unknown> | undefined;
  const probe = {};
  try {
    const watch = function (this: AsyncLocalStorage<unknown>, store: unknown, fn: (...a: unknown[]) => unknown, ...args: unknown[]): unknown {
      found ??= this;
      return protoRun.call(this, store, fn, ...args);
    };
    proto.run = watch;
    const patched = proto.run === watch;
    const seen: unknown = time.runWithContext(probe, (): unknown => time.getContext());
    if (!patched || seen !== probe) found = undefined;
  } catch (err) {
    logger.debug('pprof storage not found', err);
    found = undefined;
  } finally {
    try {
      if (proto.run !== protoRun) proto.run = protoRun;
    } catch (err) {
      logger.debug('AsyncLocalStorage.prototype.run could not be put back', err);
    }
  }
  return found;
}
