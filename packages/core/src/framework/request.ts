import { trace } from '@opentelemetry/api';
import { logger } from '../diag';
import { codes, message, warnConfig } from '@spanprof/exporter-base';
import { checkLabels, cut, MAX_CUSTOM_LABELS, MAX_LABEL_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH } from '../customLabels';
import type { CustomLabelValues } from '../customLabels';
import { getSpanLabels } from '../labels';
import type { LocalRoot, SampleLabels } from '../labels';

/** Longest route template kept in an endpoint label; longer ones are cut. */
export const MAX_ROUTE_LENGTH = 256;

/** The warning of a request with no span to label: the integration does nothing then. */
const NO_SPAN = 'no-span';

export { MAX_CUSTOM_LABELS, MAX_LABEL_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH };
export type { CustomLabelValues };

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
      route = cut(route, MAX_ROUTE_LENGTH);
      root.setRouteEndpoint(`${method.toUpperCase()} ${route}`);
    } catch (err) {
      logger.debug('route label failed', err);
    }
  }

  /** The user's labels, checked and bounded; undefined when none is left. */
  private bound(values: CustomLabelValues): SampleLabels | undefined {
    return checkLabels(values, this.integration, (key, text) => this.warnOnce(key, text));
  }

  private warnOnce(key: string, text: string): void {
    // Bounded: the keys name label names, themselves bounded, and stop being added past 64.
    if (this.warned.has(key) || this.warned.size >= 64) return;
    this.warned.add(key);
    if (key !== NO_SPAN) {
      warnConfig(text, logger);
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
