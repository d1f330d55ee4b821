import { createContextKey, trace } from '@opentelemetry/api';
import type { Context, HrTime, Span } from '@opentelemetry/api';
import { LABEL_LOCAL_ROOT_SPAN_ID, LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT, LABEL_TRACE_ID, SPAN_LABEL_NAMES } from '@spanprof/profile';
import type { RequestCounter } from './RequestCounter';

/** A sample's labels, as the profile serializer takes them. */
export type SampleLabels = Readonly<Record<string, string>>;

/**
 * What samples of a whole local trace share: the local root's span ID, its
 * endpoint and the request's custom labels. All of them may be set late (the
 * route is often known only when the root span ends); samples pick them up
 * because labels are built at collection.
 */
export class LocalRoot {
  private spanEndpoint: string;
  private routeEndpoint = '';
  private custom: SampleLabels | undefined;
  /** Bumped at every change, so label objects know to rebuild. */
  revision = 0;
  /**
   * Kept by RequestCounter, not for other use: the counter that counted this
   * request when its root span ended, in which of its periods, and under which
   * endpoint key (a later endpoint change moves the count).
   */
  counter: RequestCounter | undefined;
  countedPeriod = -1;
  countedAs: string | undefined;
  countedMillis = 0;
  /**
   * Kept by LoopBlockMonitor, not for other use: the neighbours of this request in its list of
   * requests in flight (a list through the roots themselves: no allocation per request).
   */
  openPrev: LocalRoot | undefined;
  openNext: LocalRoot | undefined;
  openIn: object | undefined;

  constructor(
    readonly spanId: string,
    endpoint: string,
  ) {
    this.spanEndpoint = endpoint;
  }

  /**
   * The endpoint label: the one a framework integration gave (its route
   * template) wins over the one derived from the root span.
   */
  get endpoint(): string {
    return this.routeEndpoint !== '' ? this.routeEndpoint : this.spanEndpoint;
  }

  /** The endpoint derived from the root span (its name, or method and `http.route`). */
  set endpoint(value: string) {
    if (value === this.spanEndpoint) return;
    this.spanEndpoint = value;
    this.revision++;
    // A request already counted moves its count along (the span's endpoint only matters without a route).
    if (this.counter !== undefined && this.routeEndpoint === '') this.counter.moved(this);
  }

  /** The endpoint a framework integration found (`GET /users/:id`); wins over the span's. */
  setRouteEndpoint(value: string): void {
    if (value === this.routeEndpoint) return;
    this.routeEndpoint = value;
    this.revision++;
    this.counter?.moved(this);
  }

  /** Extra sample labels for the whole request (already checked and bounded by the caller). */
  get customLabels(): SampleLabels | undefined {
    return this.custom;
  }

  set customLabels(labels: SampleLabels | undefined) {
    // A custom trace_endpoint would stand in for a missing endpoint: spanprof's names are its own.
    this.custom = labels !== undefined && LABEL_TRACE_ENDPOINT in labels ? withoutSpanLabelNames(labels) : labels;
    this.revision++;
  }
}

function withoutSpanLabelNames(labels: SampleLabels): SampleLabels {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) if (!SPAN_LABEL_NAMES.includes(name)) kept[name] = value;
  return Object.freeze(kept);
}

/**
 * The label data of one span, created once when the span starts. It holds no
 * reference to the span, so an ended span is never kept alive by the profiler.
 */
export class SpanLabels {
  private cache: SampleLabels | undefined;
  private cacheRevision = -1;
  /** async-frame mode: the slot of this span's reusable context holder (see FrameHolders). */
  frameSlot = -1;
  /**
   * The span's name and times, for the events profile (see SpanTimeline): set by the span
   * processor at the start (the times are the SDK span's own `HrTime` arrays, not copies) and
   * at the end. No end: the span still runs.
   */
  name = '';
  startTime: HrTime | undefined;
  endTime: HrTime | undefined;
  /** The label data of the span's parent, when the parent is a span of this process. */
  parent: SpanLabels | undefined;

  constructor(
    readonly spanId: string,
    readonly traceId: string,
    readonly root: LocalRoot,
  ) {}

  /** The span these labels stand for (a `withLabels` scope's labels stand for the span inside it). */
  span(): SpanLabels | undefined {
    return this;
  }

  /** The sample labels, built once and rebuilt only if the root changed. */
  sampleLabels(): SampleLabels {
    const root = this.root;
    if (this.cache === undefined || this.cacheRevision !== root.revision) {
      // Custom labels never carry spanprof's own names (the setter drops them).
      const labels: Record<string, string> = {
        ...root.customLabels,
        [LABEL_SPAN_ID]: this.spanId,
        [LABEL_LOCAL_ROOT_SPAN_ID]: root.spanId,
        [LABEL_TRACE_ID]: this.traceId,
      };
      const endpoint = root.endpoint;
      if (endpoint !== '') labels[LABEL_TRACE_ENDPOINT] = endpoint;
      this.cache = Object.freeze(labels);
      this.cacheRevision = root.revision;
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

/** The context key of the `withLabels` scope (`Symbol.for`, so every copy of this package shares it). */
export const LABEL_SCOPE_KEY = createContextKey('@spanprof/core.labelScope');

/** A root for the labels of a scope with no span: it has no ID and no endpoint. */
const NO_ROOT = new LocalRoot('', '');

/**
 * A `withLabels` scope: its custom labels (the enclosing scope's with its own, checked and
 * bounded), and the label objects of the spans active inside it, one per span, made once.
 */
export class LabelScope {
  private lastSpan: SpanLabels | undefined | null = null;
  private lastScoped: ScopedLabels | undefined;
  private noSpan: ScopedLabels | undefined;
  /** Weak: a span's scoped labels go when the span's label object does. */
  private readonly bySpan = new WeakMap<SpanLabels, ScopedLabels>();

  constructor(readonly labels: SampleLabels) {}

  /** The label object samples carry when `span` is active inside this scope. */
  labelsFor(span: SpanLabels | undefined): ScopedLabels {
    if (span === this.lastSpan && this.lastScoped !== undefined) return this.lastScoped;
    let scoped = span === undefined ? this.noSpan : this.bySpan.get(span);
    if (scoped === undefined) {
      scoped = new ScopedLabels(span, this.labels);
      if (span === undefined) this.noSpan = scoped;
      else this.bySpan.set(span, scoped);
    }
    this.lastSpan = span;
    this.lastScoped = scoped;
    return scoped;
  }
}

/**
 * The labels of a span (or of none) inside a `withLabels` scope: the span's, with the scope's
 * custom labels over the request's (never over spanprof's own names, which a scope cannot hold).
 */
export class ScopedLabels extends SpanLabels {
  private scopedCache: SampleLabels | undefined;
  private builtFrom: SampleLabels | undefined;

  constructor(
    private readonly inner: SpanLabels | undefined,
    private readonly scopeLabels: SampleLabels,
  ) {
    super(inner?.spanId ?? '', inner?.traceId ?? '', inner?.root ?? NO_ROOT);
  }

  override span(): SpanLabels | undefined {
    return this.inner;
  }

  override sampleLabels(): SampleLabels {
    if (this.inner === undefined) return this.scopeLabels;
    const base = this.inner.sampleLabels();
    if (this.scopedCache === undefined || base !== this.builtFrom) {
      this.scopedCache = Object.freeze({ ...base, ...this.scopeLabels });
      this.builtFrom = base;
    }
    return this.scopedCache;
  }
}

/**
 * The label data samples carry in `ctx`: its active span's, within its `withLabels` scope if
 * any (a non-context, tolerated as by the stock manager, has none).
 */
export function labelsOfContext(ctx: Context | undefined): SpanLabels | undefined {
  if (ctx == null || typeof ctx.getValue !== 'function') return undefined;
  const span = getSpanLabels(trace.getSpan(ctx));
  const scope = ctx.getValue(LABEL_SCOPE_KEY);
  return scope instanceof LabelScope ? scope.labelsFor(span) : span;
}
