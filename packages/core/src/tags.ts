import { hostname } from 'node:os';
import { TAG_HOST_NAME, TAG_PROCESS_PID, TAG_PROFILER_VERSION, TAG_RUNTIME_NAME, TAG_RUNTIME_VERSION } from '@spanprof/profile';
import { VERSION } from './version';

/** Tags every profile of this process carries unless overridden. */
export function processTags(): Record<string, string> {
  return {
    [TAG_HOST_NAME]: hostname(),
    [TAG_PROCESS_PID]: String(process.pid),
    [TAG_RUNTIME_NAME]: 'nodejs',
    [TAG_RUNTIME_VERSION]: process.versions.node,
    [TAG_PROFILER_VERSION]: VERSION,
  };
}
