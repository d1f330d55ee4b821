import { diag } from '@opentelemetry/api';
import { envString, HttpProfileExporter, urlProblem, warnConfig } from '@spanprof/exporter-base';
import { DD_LABEL_LOCAL_ROOT_SPAN_ID, DD_LABEL_SPAN_ID, DD_LABEL_THREAD_ID, DD_LABEL_THREAD_NAME, DD_LABEL_TRACE_ENDPOINT, spanIdLabel } from './labels';
import { datadogTimeline } from './timeline';
import { VERSION } from './version';
import {
  encodeGzipped,
  LABEL_LOCAL_ROOT_SPAN_ID,
  LABEL_SPAN_ID,
  LABEL_THREAD_ID,
  LABEL_THREAD_NAME,
  LABEL_TRACE_ENDPOINT,
  relabelProfile,
  TAG_DEPLOYMENT_ENVIRONMENT,
  TAG_HOST_NAME,
  TAG_PROCESS_PID,
  TAG_PROFILER_VERSION,
  TAG_RUNTIME_VERSION,
  TAG_SERVICE_NAME,
  TAG_SERVICE_VERSION,
} from '@spanprof/profile';
import type { HttpExporterOptions, HttpRequestSpec, KnownExporter, ProfileBatch, ProfileKind } from '@spanprof/exporter-base';
import type { LabelValues } from '@spanprof/profile';

const logger = diag.createComponentLogger({ namespace: '@spanprof/exporter-datadog' });

const INTAKE_PATH = '/profiling/v1/input';
const FILE_OF: Record<ProfileKind, string> = { wall: 'wall.pprof', heap: 'space.pprof', events: 'events.pprof' };

export interface DatadogProfileExporterOptions extends HttpExporterOptions {
  /** The agent's base URL. Default `DD_TRACE_AGENT_URL`, else `http://${DD_AGENT_HOST ?? '127.0.0.1'}:${DD_TRACE_AGENT_PORT ?? 8126}`. */
  url?: string;
  /** Default `DD_SERVICE`, else the resource's `service.name`. */
  service?: string;
  /** Default `DD_ENV`, else the resource's `deployment.environment.name`. */
  env?: string;
  /** Default `DD_VERSION`, else the resource's `service.version`. */
  version?: string;
  /** Extra profiler tags (`key: value`); `DD_TAGS` (`key:value,key2:value2`) is read too, these win. */
  tags?: Record<string, string>;
}

/**
 * The Datadog ID of an OpenTelemetry span ID: its 8 bytes read as an unsigned
 * big-endian integer (what the agent does with OTLP spans), in decimal.
 */
export function datadogSpanId(otelSpanId: string): string {
  return BigInt(`0x${otelSpanId}`).toString(10);
}

/**
 * Sends each batch to the Datadog agent's profiling intake
 * (`POST /profiling/v1/input`): a multipart form with an `event.json` part and one
 * part per profile (`wall.pprof`, `space.pprof`). Sample labels are translated to
 * what Code Hotspots reads: `span id` and `local root span id` as 64-bit integers
 * (the OpenTelemetry span ID as an unsigned big-endian number, carried as pprof
 * numeric labels, as Datadog's own profilers send them) and `trace endpoint`.
 */
export class DatadogProfileExporter extends HttpProfileExporter {
  readonly intakeUrl: URL;
  private readonly service: string | undefined;
  private readonly env: string | undefined;
  private readonly version: string | undefined;
  private readonly tags: Record<string, string>;

  protected override recipeSource(): KnownExporter {
    return 'datadog';
  }

  constructor(options: DatadogProfileExporterOptions = {}) {
    super('DatadogProfileExporter', options);
    this.intakeUrl = agentUrl(options.url);
    this.service = options.service ?? envString('DD_SERVICE');
    this.env = options.env ?? envString('DD_ENV');
    this.version = options.version ?? envString('DD_VERSION');
    this.tags = parseDdTags(envString('DD_TAGS'));
    for (const [key, value] of Object.entries(options.tags ?? {})) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') this.tags[key] = String(value);
      else warnConfig(`DatadogProfileExporter option tags: the value of ${JSON.stringify(key)} is not a string; left out`, logger);
    }
  }

  protected async requestsFor(batch: ProfileBatch): Promise<HttpRequestSpec[]> {
    if (batch.profiles.length === 0) return [];
    const form = new FormData();
    // The I/O waits and GC pauses as Datadog's timeline events.
    const timeline = batch.events === undefined ? undefined : datadogTimeline(batch.events.profile);
    const attachments = batch.profiles.map((p) => FILE_OF[p.kind]);
    if (timeline !== undefined) attachments.push(FILE_OF.events);
    const event = {
      attachments,
      start: batch.start.toISOString(),
      end: batch.end.toISOString(),
      family: 'node',
      version: '4',
      tags_profiler: this.profilerTags(batch),
    };
    form.append('event', new Blob([JSON.stringify(event)], { type: 'application/json' }), 'event.json');
    for (const collected of batch.profiles) {
      const profile = collected.kind === 'wall' ? relabelProfile(collected.profile, toDatadogLabels) : collected.profile;
      const bytes = collected.kind === 'wall' ? await encodeGzipped(profile) : collected.encoded;
      form.append(FILE_OF[collected.kind], new Blob([bytes], { type: 'application/octet-stream' }), FILE_OF[collected.kind]);
    }
    if (timeline !== undefined) form.append(FILE_OF.events, new Blob([await encodeGzipped(timeline)], { type: 'application/octet-stream' }), FILE_OF.events);
    const headers = { 'dd-evp-origin': 'spanprof', 'dd-evp-origin-version': VERSION };
    return [{ url: this.intakeUrl, headers, body: form, what: `batch ${batch.sequence}` }];
  }

  /** `key:value,...` as the intake takes it: service, env, version, host, runtime, profiler and user tags. */
  private profilerTags(batch: ProfileBatch): string {
    const t = batch.tags;
    const tags: Record<string, string | undefined> = {
      service: this.service ?? t[TAG_SERVICE_NAME],
      env: this.env ?? t[TAG_DEPLOYMENT_ENVIRONMENT],
      version: this.version ?? t[TAG_SERVICE_VERSION],
      host: t[TAG_HOST_NAME],
      language: 'javascript',
      runtime: 'nodejs',
      runtime_version: t[TAG_RUNTIME_VERSION],
      process_id: t[TAG_PROCESS_PID],
      profiler_version: t[TAG_PROFILER_VERSION],
      profile_seq: String(batch.sequence - 1),
      format: 'pprof',
      ...this.tags,
    };
    return Object.entries(tags)
      .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
      .map(([k, v]) => `${k}:${v.replace(/,/g, '_')}`)
      .join(',');
  }
}

/** spanprof labels → Datadog's: span IDs as numeric labels (uint64 bit pattern), the endpoint and thread renamed, the trace ID dropped. */
function toDatadogLabels(labels: LabelValues): LabelValues {
  const out: LabelValues = {};
  for (const [key, value] of Object.entries(labels)) {
    if (key === LABEL_SPAN_ID || key === LABEL_LOCAL_ROOT_SPAN_ID) {
      const id = spanIdLabel(value);
      if (id !== undefined) out[key === LABEL_SPAN_ID ? DD_LABEL_SPAN_ID : DD_LABEL_LOCAL_ROOT_SPAN_ID] = id;
    } else if (key === LABEL_TRACE_ENDPOINT) {
      out[DD_LABEL_TRACE_ENDPOINT] = value;
    } else if (key === LABEL_THREAD_ID) {
      out[DD_LABEL_THREAD_ID] = value;
    } else if (key === LABEL_THREAD_NAME) {
      out[DD_LABEL_THREAD_NAME] = value;
    } else if (key !== 'trace_id') {
      out[key] = value;
    }
  }
  return out;
}

function agentUrl(option: string | undefined): URL {
  const fromEnv = envString('DD_TRACE_AGENT_URL');
  const explicit = option ?? fromEnv;
  if (explicit !== undefined) {
    try {
      const url = new URL(explicit);
      if (url.protocol === 'http:' || url.protocol === 'https:') return new URL(`${url.pathname.replace(/\/+$/, '')}${INTAKE_PATH}`, url);
    } catch {
      // reported below
    }
    warnConfig(
      urlProblem(
        `DatadogProfileExporter ${option !== undefined ? 'option url' : 'DD_TRACE_AGENT_URL'} (unix sockets are not supported)`,
        explicit,
        'DD_AGENT_HOST/DD_TRACE_AGENT_PORT',
      ),
      logger,
    );
  }
  const host = envString('DD_AGENT_HOST') ?? '127.0.0.1';
  const port = envString('DD_TRACE_AGENT_PORT') ?? '8126';
  try {
    return new URL(INTAKE_PATH, `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`);
  } catch {
    warnConfig('DatadogProfileExporter DD_AGENT_HOST/DD_TRACE_AGENT_PORT do not make a URL; using http://127.0.0.1:8126', logger);
    return new URL(INTAKE_PATH, 'http://127.0.0.1:8126');
  }
}

/** `DD_TAGS`: `key:value` entries separated by commas (spaces too, as the agent accepts). */
function parseDdTags(value: string | undefined): Record<string, string> {
  const tags: Record<string, string> = {};
  if (value === undefined) return tags;
  for (const entry of value.split(/[,\s]+/)) {
    const colon = entry.indexOf(':');
    if (colon <= 0) continue;
    tags[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return tags;
}
