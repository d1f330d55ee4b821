import { trace } from '@opentelemetry/api';
import { logger } from '../diag';
import { codes, message } from '@spanprof/exporter-base';
import { RESERVED_LABEL_NAMES } from '@spanprof/profile';
import { getSpanLabels } from '../labels';
import type { LocalRoot, SampleLabels } from '../labels';

/** At most this many custom labels per request; further ones are left out. */
export const MAX_CUSTOM_LABELS = 8;
/** Longest custom label name; longer names are left out. */
export const MAX_LABEL_NAME_LENGTH = 64;
/** Longest custom label value; longer values are cut to this length. */
export const MAX_LABEL_VALUE_LENGTH = 128;
/** Longest route template kept in an endpoint label; longer ones are cut. */
export const MAX_ROUTE_LENGTH = 256;

/** What a user's labels callback may return. */
export type CustomLabelValues = Record<string, string | number | boolean | bigint | null | undefined>;

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const RESERVED = new Set(RESERVED_LABEL_NAMES);
/** The warning of a request with no span to label: the integration does nothing then. */
const NO_SPAN = 'no-span';

/**
 * What a framework integration does for every request: find the request's
 * local root, give it the route template as its endpoint and the user's custom
 * labels. Never throws; each kind of problem is warned about once.
 */
export class RequestLabeler<Req> {
  private readonly warned = new Set<string>();

  constructor(
    /** Names the integration in warnings: `@spanprof/express`. */
    private readonly integration: string,
    private readonly labels: ((req: Req) => CustomLabelValues | undefined) | undefined,
  ) {
    if (labels !== undefined && typeof labels !== 'function') {
      this.warnOnce('labels-option', `${integration} option labels: expected a function (req) => ({ name: value }); ignored`);
      this.labels = undefined;
    }
  }

  /**
   * At the start of a request: its local root with the custom labels applied,
   * or undefined when no span spanprof labels is active (then nothing is recorded).
   */
  begin(req: Req): LocalRoot | undefined {
    let root: LocalRoot | undefined;
    let sampledOut = false;
    try {
      const span = trace.getActiveSpan();
      root = getSpanLabels(span)?.root;
      // A span the sampler dropped never reaches a span processor: nothing to label, nothing wrong.
      sampledOut = span !== undefined && !span.isRecording();
    } catch (err) {
      logger.debug('active span lookup failed', err);
    }
    if (root === undefined) {
      if (sampledOut) return undefined;
      this.warnOnce(
        NO_SPAN,
        `${this.integration}: a request arrived with no span labelled by spanprof active; endpoint and custom labels are not recorded. Register ProfilingSpanProcessor with the OpenTelemetry SDK (or start node with --require @spanprof/auto/register), with HTTP instrumentation on.`,
      );
      return undefined;
    }
    if (this.labels !== undefined) {
      let values: CustomLabelValues | undefined;
      try {
        values = this.labels(req);
      } catch (err) {
        this.warnOnce('labels-threw', `${this.integration}: the labels callback threw (${String(err)}); the request goes on without custom labels`);
        values = undefined;
      }
      if (values !== undefined && values !== null) {
        const bounded = this.bound(values);
        if (bounded !== undefined) root.customLabels = bounded;
      }
    }
    return root;
  }

  /** Gives the request's root its endpoint: `<METHOD> <route template>`. */
  route(root: LocalRoot | undefined, method: string | undefined, template: unknown): void {
    if (root === undefined || typeof method !== 'string' || method === '') return;
    try {
      let route: string;
      if (typeof template === 'string') route = template;
      else if (template instanceof RegExp) route = String(template);
      else if (Array.isArray(template)) route = template.map(String).join('|');
      else return;
      if (route === '') return;
      if (route.length > MAX_ROUTE_LENGTH) route = route.slice(0, MAX_ROUTE_LENGTH);
      root.setRouteEndpoint(`${method.toUpperCase()} ${route}`);
    } catch (err) {
      logger.debug('route label failed', err);
    }
  }

  /** The user's labels, checked and bounded; undefined when none is left. */
  private bound(values: CustomLabelValues): SampleLabels | undefined {
    if (typeof values !== 'object') {
      this.warnOnce('labels-type', `${this.integration}: the labels callback returned ${typeof values}; expected an object of name: value`);
      return undefined;
    }
    const out: Record<string, string> = {};
    let count = 0;
    for (const name of Object.keys(values)) {
      const raw = values[name];
      if (raw === undefined || raw === null) continue;
      if (!LABEL_NAME.test(name) || name.length > MAX_LABEL_NAME_LENGTH || RESERVED.has(name)) {
        this.warnOnce(
          `name:${name.slice(0, MAX_LABEL_NAME_LENGTH)}`,
          `${this.integration}: custom label ${JSON.stringify(name.slice(0, MAX_LABEL_NAME_LENGTH))} left out: names are letters, digits, _ . - (not first), at most ${MAX_LABEL_NAME_LENGTH} characters, and not one of ${RESERVED_LABEL_NAMES.join(', ')}`,
        );
        continue;
      }
      const type = typeof raw;
      if (type !== 'string' && type !== 'number' && type !== 'boolean' && type !== 'bigint') {
        this.warnOnce(
          `value:${name}`,
          `${this.integration}: custom label ${JSON.stringify(name)} left out: its value is a ${type}; expected a string, number or boolean`,
        );
        continue;
      }
      if (count === MAX_CUSTOM_LABELS) {
        this.warnOnce('count', `${this.integration}: more than ${MAX_CUSTOM_LABELS} custom labels for a request; the rest are left out`);
        break;
      }
      let value = String(raw);
      if (value.length > MAX_LABEL_VALUE_LENGTH) value = value.slice(0, MAX_LABEL_VALUE_LENGTH);
      out[name] = value;
      count++;
    }
    return count === 0 ? undefined : Object.freeze(out);
  }

  private warnOnce(key: string, text: string): void {
    // Bounded: the keys name label names, themselves bounded, and stop being added past 64.
    if (this.warned.has(key) || this.warned.size >= 64) return;
    this.warned.add(key);
    if (key !== NO_SPAN) {
      logger.warn(message(codes.INVALID_OPTION, text));
      return;
    }
    // No span to label turns the whole integration off: said without a logger too.
    logger.warn(message(codes.NO_SPAN_TO_LABEL, text));
    try {
      process.emitWarning(text, { code: codes.NO_SPAN_TO_LABEL });
    } catch {
      // A warning listener that throws is not ours to break on.
    }
  }
}
