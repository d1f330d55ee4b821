import { isMainThread, threadId } from 'node:worker_threads';
import * as workerThreads from 'node:worker_threads';
import { addSampleLabels, LABEL_THREAD_ID, LABEL_THREAD_NAME, NON_JS_THREADS_FUNCTION } from '@spanprof/profile';
import type { Profile } from 'pprof-format';

/**
 * The name this thread's samples carry: `main`, or the `name` given to the `Worker`
 * (Node 22+ exposes it as `threadName`), or `worker`. One name for every unnamed
 * worker keeps the label low-cardinality: a pool's workers are one group.
 */
export function threadNameOf(): string {
  if (isMainThread) return 'main';
  const name = (workerThreads as { threadName?: unknown }).threadName;
  return typeof name === 'string' && name !== '' ? name : 'worker';
}

/** The thread labels of this thread's samples. */
export function threadLabels(): Readonly<Record<string, string>> {
  return { [LABEL_THREAD_ID]: String(threadId), [LABEL_THREAD_NAME]: threadNameOf() };
}

/** Labels every sample of a profile taken on this thread with the thread, but the CPU of other threads. */
export function labelThread(profile: Profile, labels: Readonly<Record<string, string>>): void {
  addSampleLabels(profile, labels, [NON_JS_THREADS_FUNCTION]);
}
