import { trace } from '@opentelemetry/api';
import type { Attributes, Context, HrTime, Span } from '@opentelemetry/api';
import { hookFailed, LocalRoot, ProfilerSession, SpanLabels, getSpanLabels, setSpanLabels } from '@spanprof/core';
import type { SessionStats } from '@spanprof/core';
import { endpointOf } from './endpoint';
import type { EndedSpan, ProfilingSpanProcessorOptions, SpanProcessor } from './types';

/** The attribute Grafana reads to link a trace's spans to their profiles. */
export const ATTR_PYROSCOPE_PROFILE_ID = 'pyroscope.profile.id';

/** What the processor reads of the SDK's spans: the span API plus the fields every SDK span has. */
interface SdkSpan extends Span {
  readonly name: string;
  readonly startTime?: HrTime;
  readonly attributes: Attributes;
  readonly resource?: { readonly attributes: Attributes };
}

/** Milliseconds from `start` to `end`; 0 when either is missing. */
function millisBetween(start: HrTime | undefined, end: HrTime | undefined): number {
  if (start === undefined || end === undefined) return 0;
  return (end[0] - start[0]) * 1e3 + (end[1] - start[1]) / 1e6;
}

/** Resource attributes that become profile tags. */
const RESOURCE_TAGS: readonly [string, readonly string[]][] = [
  ['service.name', ['service.name']],
  ['service.version', ['service.version']],
  ['deployment.environment.name', ['deployment.environment.name', 'deployment.environment']],
  ['host.name', ['host.name']],
];

/**
 * A span processor that runs spanprof's profiler and labels every sample with the
 * span OpenTelemetry considers active: `span_id`, `local_root_span_id`,
 * `trace_id` and the request's `trace_endpoint`. It exports no spans; put it next
 * to the processor that does.
 */
export class ProfilingSpanProcessor implements SpanProcessor {
  private readonly session: ProfilerSession;
  private readonly profiling: boolean;
  private readonly profileIdAttribute: boolean;
  private resource: { readonly attributes: Attributes } | undefined;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: ProfilingSpanProcessorOptions = {}) {
    this.profileIdAttribute = options.profileIdAttribute !== false;
    this.session = new ProfilerSession({ ...options, tagSource: () => this.resourceTags() });
    this.profiling = this.session.start();
  }

  onStart(span: Span, parentContext: Context): void {
    try {
      const sdkSpan = span as SdkSpan;
      this.resource ??= sdkSpan.resource;
      // Spans are labelled even by an idle processor: the profiler running in
      // this process (another processor's) picks the labels up.
      if (this.profiling) this.session.watchContextManager();
      const spanContext = span.spanContext();
      const parent = trace.getSpan(parentContext);
      const parentLabels = parent !== undefined && !parent.spanContext().isRemote ? getSpanLabels(parent) : undefined;
      let root = parentLabels?.root;
      if (root === undefined) {
        root = new LocalRoot(spanContext.spanId, sdkSpan.name ?? '');
        if (this.profileIdAttribute) span.setAttribute(ATTR_PYROSCOPE_PROFILE_ID, spanContext.spanId);
        (this.profiling ? this.session : ProfilerSession.running())?.requestStarted(root);
      }
      const labels = new SpanLabels(spanContext.spanId, spanContext.traceId, root);
      labels.name = sdkSpan.name ?? '';
      labels.startTime = sdkSpan.startTime;
      labels.parent = parentLabels;
      setSpanLabels(span, labels);
    } catch (err) {
      hookFailed('span processor onStart', err, "that span's samples are not labelled");
    }
  }

  onEnd(span: EndedSpan): void {
    try {
      const labels = getSpanLabels(span as unknown as Span);
      if (labels === undefined) return;
      labels.name = span.name;
      labels.endTime = span.endTime;
      if (labels.root.spanId !== labels.spanId) return;
      labels.root.endpoint = endpointOf(span.name, span.attributes);
      // A request ended. An idle processor hands it to the profiler that runs, which profiles its spans too.
      (this.profiling ? this.session : ProfilerSession.running())?.requestEnded(labels.root, millisBetween(labels.startTime, span.endTime));
    } catch (err) {
      hookFailed('span processor onEnd', err, "that span's end or its request's duration is not recorded");
    }
  }

  /** Collects the current profile now and exports it. */
  forceFlush(): Promise<void> {
    if (this.shutdownPromise !== undefined) return this.shutdownPromise;
    return this.session.flush();
  }

  /** Stops profiling and exports the last profile. Idempotent. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.session.shutdown();
    return this.shutdownPromise;
  }

  /** Figures of the profiling session (collection pauses, drops, strategy). */
  stats(): Readonly<SessionStats> {
    return this.session.stats();
  }

  private resourceTags(): Record<string, string> | undefined {
    const attributes = this.resource?.attributes;
    if (attributes === undefined) return undefined;
    const tags: Record<string, string> = {};
    for (const [tag, keys] of RESOURCE_TAGS) {
      for (const key of keys) {
        const value = attributes[key];
        if (value !== undefined && value !== null) {
          tags[tag] = String(value);
          break;
        }
      }
    }
    return tags;
  }
}
