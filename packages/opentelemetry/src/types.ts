import type { ProfilerOptions } from '@spanprof/core';

export interface ProfilingSpanProcessorOptions extends ProfilerOptions {
  /**
   * Set the attribute `pyroscope.profile.id` (the span's own ID) on local root
   * spans, which Grafana uses to link a trace to its profiles. Default true.
   */
  profileIdAttribute?: boolean;
  /**
   * For integrations that start the processor for the user
   * (`@spanprof/auto/register`): named when a second profiler is started in
   * the same process.
   */
  owner?: string;
}
