import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { logger } from './shared';

/** What the main thread's bundle hands every worker thread started after it (`worker_threads.setEnvironmentData`). */
export interface SharedWithWorkers {
  /**
   * The attributes of the main thread's resource known so far (all of them once its
   * asynchronous detectors settled): a worker's spans and profiles then carry the process's
   * resource (its `service.instance.id` too).
   */
  resource?: Record<string, AttributeValue>;
}

type AttributeValue = string | number | boolean | string[] | number[] | boolean[];

interface ResourceLike {
  readonly asyncAttributesPending?: boolean;
  waitForAsyncAttributes?(): Promise<void>;
  getRawAttributes(): [string, unknown][];
}

const KEY = '@spanprof/auto.main';

/**
 * Tells the worker threads started from now on that the main thread runs the bundle (so
 * they warn about nothing it warned about already) and what its resource holds: the
 * attributes detected at once now (workers usually start with the application), every one
 * once the asynchronous detectors settled. Reads the NodeSDK's resource; never throws.
 */
export function shareWithWorkers(sdk: object): void {
  try {
    setEnvironmentData(KEY, {} satisfies SharedWithWorkers);
    const resource = (sdk as { _resource?: ResourceLike })._resource;
    if (typeof resource?.getRawAttributes !== 'function') return;
    const publish = (): void => {
      try {
        setEnvironmentData(KEY, { resource: settledAttributes(resource) } satisfies SharedWithWorkers);
      } catch (err) {
        logger.debug('the resource could not be shared with worker threads', err);
      }
    };
    publish();
    if (resource.asyncAttributesPending === true && typeof resource.waitForAsyncAttributes === 'function') {
      resource.waitForAsyncAttributes().then(publish, (err: unknown) => logger.debug('resource detection failed', err));
    }
  } catch (err) {
    logger.debug('the resource could not be shared with worker threads', err);
  }
}

/** What the main thread's bundle shared, when this thread is a worker started after it. */
export function sharedByMainThread(): SharedWithWorkers | undefined {
  try {
    const shared = getEnvironmentData(KEY);
    return typeof shared === 'object' && shared !== null ? shared : undefined;
  } catch {
    return undefined;
  }
}

/** The attributes known now (a promise is a detector still at work), as values a worker can receive. */
function settledAttributes(resource: ResourceLike): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [key, value] of resource.getRawAttributes()) {
    if (key in out) continue; // the first wins, as in the resource's own merge
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === typeof value[0] && ['string', 'number', 'boolean'].includes(typeof v)))
      out[key] = value as AttributeValue;
  }
  return out;
}
