import type { Span } from '@opentelemetry/api';

/** Sample label names, as they appear in every wall-time sample taken inside a span. */
export const LABEL_SPAN_ID = 'span_id';
export const LABEL_LOCAL_ROOT_SPAN_ID = 'local_root_span_id';
export const LABEL_TRACE_ID = 'trace_id';
export const LABEL_TRACE_ENDPOINT = 'trace_endpoint';

/** All sample label names spanprof writes, in a fixed order. */
export const SPAN_LABEL_NAMES: readonly string[] = Object.freeze([
  LABEL_SPAN_ID,
  LABEL_LOCAL_ROOT_SPAN_ID,
  LABEL_TRACE_ID,
  LABEL_TRACE_ENDPOINT,
]);

/** A sample's labels, as the profile serializer takes them. */
export type SampleLabels = Readonly<Record<string, string>>;

/**
 * What samples of a whole local trace share: the local root's span ID and its
 * endpoint. The endpoint may be set late (the route is often known only when the
 * root span ends); samples pick it up because labels are built at collection.
 */
export class LocalRoot {
  endpoint: string;
  constructor(readonly spanId: string, endpoint: string) {
    this.endpoint = endpoint;
  }
}

/**
 * The label data of one span, created once when the span starts. It holds no
 * reference to the span, so an ended span is never kept alive by the profiler.
 */
export class SpanLabels {
  private cache: SampleLabels | undefined;
  private cacheEndpoint = '';
  /** async-frame mode: the slot of this span's reusable context holder (see FrameHolders). */
  frameSlot = -1;

  constructor(
    readonly spanId: string,
    readonly traceId: string,
    readonly root: LocalRoot,
  ) {}

  /** The sample labels, built once and rebuilt only if the root's endpoint changed. */
  sampleLabels(): SampleLabels {
    const endpoint = this.root.endpoint;
    if (this.cache === undefined || this.cacheEndpoint !== endpoint) {
      const labels: Record<string, string> = {
        [LABEL_SPAN_ID]: this.spanId,
        [LABEL_LOCAL_ROOT_SPAN_ID]: this.root.spanId,
        [LABEL_TRACE_ID]: this.traceId,
      };
      if (endpoint !== '') labels[LABEL_TRACE_ENDPOINT] = endpoint;
      this.cache = Object.freeze(labels);
      this.cacheEndpoint = endpoint;
    }
    return this.cache;
  }
}

/**
 * Span → label data. The label object rides on the span under a private symbol:
 * a plain property read on the hot path, and it goes with the span. A WeakMap
 * holding every live span costs the garbage collector far more at tens of
 * thousands of spans per second (ephemeron tables), so it only serves spans that
 * refuse new properties. The label data never points back at the span.
 */
const LABELS = Symbol.for('@spanprof/core.spanLabels');
type Labelled = { [LABELS]?: SpanLabels };
const frozenSpans = new WeakMap<Span, SpanLabels>();

/** Associates label data with a span; the profiler labels samples taken while it is active. */
export function setSpanLabels(span: Span, labels: SpanLabels): void {
  if (Object.isExtensible(span)) (span as Labelled)[LABELS] = labels;
  else frozenSpans.set(span, labels);
}

/** The label data of a span, if a processor registered it. */
export function getSpanLabels(span: Span | undefined): SpanLabels | undefined {
  if (span === undefined) return undefined;
  return (span as Labelled)[LABELS] ?? frozenSpans.get(span);
}
