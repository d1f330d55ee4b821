import { diag } from '@opentelemetry/api';
import { envString, HttpProfileExporter, urlProblem, validHeaders, warnConfig } from '@spanprof/exporter-base';
import {
  encodeGzipped,
  LABEL_LOCAL_ROOT_SPAN_ID,
  LABEL_SPAN_ID,
  LABEL_THREAD_NAME,
  LABEL_TRACE_ENDPOINT,
  relabelProfile,
  TAG_DEPLOYMENT_ENVIRONMENT,
  TAG_HOST_NAME,
  TAG_SERVICE_NAME,
  TAG_SERVICE_VERSION,
} from '@spanprof/profile';
import type { HttpExporterOptions, HttpRequestSpec, KnownExporter, ProfileBatch } from '@spanprof/exporter-base';
import type { LabelValues } from '@spanprof/profile';

const logger = diag.createComponentLogger({ namespace: '@spanprof/exporter-pyroscope' });

const DEFAULT_SERVER = 'http://localhost:4040';
/** What Pyroscope accepts in an application name. */
const APP_NAME = /^[A-Za-z0-9_.-]+$/;
/** Tag keys every Pyroscope version accepts (older ones refuse dots). */
const TAG_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters a tag value cannot hold: they end the value or the tag list in `app{k=v,...}`. */
const TAG_VALUE_FORBIDDEN = /[,{}=\n\r]/;
/** Profile tags sent as Pyroscope labels (dots become underscores, as Pyroscope itself converts them). */
const RESOURCE_TAGS = [TAG_SERVICE_VERSION, TAG_DEPLOYMENT_ENVIRONMENT, TAG_HOST_NAME];
/** The active span's own ID, sent under this name when `sampleLabels` asks for it (`span_id` carries the local root's). */
export const LABEL_ACTIVE_SPAN_ID = 'active_span_id';

/**
 * The labels a sample is sent with. Grafana's "Profiles for this span" selects the samples whose
 * `span_id` is the local root span's ID (the span with `pyroscope.profile.id`), as Grafana's own
 * integrations label every sample of a local trace: so `span_id` carries the local root's ID, and
 * a root's profile holds its child spans' samples. The active span's ID is `active_span_id`.
 */
function spanProfileLabels(labels: LabelValues, keep: ReadonlySet<string>): LabelValues {
  const out: LabelValues = {};
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string') continue;
    if (key === LABEL_SPAN_ID) {
      if (keep.has(LABEL_ACTIVE_SPAN_ID)) out[LABEL_ACTIVE_SPAN_ID] = value;
    } else if (keep.has(key)) {
      out[key] = value;
    }
  }
  const root = labels[LABEL_LOCAL_ROOT_SPAN_ID];
  if (keep.has(LABEL_SPAN_ID) && typeof root === 'string') out[LABEL_SPAN_ID] = root;
  return out;
}

/** The sample labels kept by default: see `sampleLabels`. */
export const DEFAULT_PYROSCOPE_SAMPLE_LABELS: readonly string[] = Object.freeze([LABEL_SPAN_ID, LABEL_TRACE_ENDPOINT, LABEL_THREAD_NAME]);

export interface PyroscopeExporterOptions extends HttpExporterOptions {
  /** Pyroscope's base URL (the name every spanprof exporter uses). Default `PYROSCOPE_SERVER_ADDRESS`, else `http://localhost:4040`. */
  url?: string;
  /** The same as `url`, under the name Pyroscope's own SDK gives it; `url` wins when both are set. */
  serverAddress?: string;
  /** Application name (`service_name` in Pyroscope). Default `PYROSCOPE_APPLICATION_NAME`, else the resource's `service.name`. */
  appName?: string;
  /** Labels of every profile, on top of `service_version`, `deployment_environment_name` and `host_name` from the resource. */
  tags?: Record<string, string>;
  /** Bearer token (legacy Pyroscope Cloud). Default `PYROSCOPE_AUTH_TOKEN`. */
  authToken?: string;
  /** Basic auth (Grafana Cloud: the stack's user ID). Default `PYROSCOPE_BASIC_AUTH_USER`. */
  basicAuthUser?: string;
  /** Basic auth password or API token. Default `PYROSCOPE_BASIC_AUTH_PASSWORD`. */
  basicAuthPassword?: string;
  /** Tenant of a multi-tenant Pyroscope (`X-Scope-OrgID`). Default `PYROSCOPE_TENANT_ID`. */
  tenantID?: string;
  /**
   * Sample labels sent per sample. Default `span_id`, which carries the **local
   * root span's** ID (what Grafana's "Profiles for this span" looks up: every
   * sample of a local trace, child spans included), `trace_endpoint` and
   * `thread_name` (`main`, a worker's name, or `worker`: a few series).
   * `active_span_id` adds the active span's own ID; `thread_id` one series per
   * worker ever started. Pyroscope turns every
   * string sample label except `span_id` into a series label, so
   * `active_span_id`, `trace_id` or `local_root_span_id` here make one series
   * per span or trace: add them only for a server configured for that.
   */
  sampleLabels?: string[];
}

/**
 * Sends each profile to Grafana Pyroscope's ingest API (`POST /ingest`, a
 * multipart form whose `profile` part is the gzipped pprof): the wall profile
 * (wall and CPU time, `span_id` per sample) and the heap profile, each with the
 * period's start and end.
 */
export class PyroscopeExporter extends HttpProfileExporter {
  readonly ingestUrl: URL;
  private readonly appName: string | undefined;
  private readonly tags: Record<string, string>;
  private headers: Record<string, string> = {};
  private readonly sampleLabels: ReadonlySet<string>;
  private readonly rejected = new Set<string>();

  protected override recipeSource(): KnownExporter {
    return 'pyroscope';
  }

  constructor(options: PyroscopeExporterOptions = {}) {
    super('PyroscopeExporter', options);
    const server = options.url ?? options.serverAddress ?? envString('PYROSCOPE_SERVER_ADDRESS') ?? DEFAULT_SERVER;
    let base: URL;
    try {
      base = new URL(server);
      if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
    } catch {
      warnConfig(urlProblem('PyroscopeExporter option url (or serverAddress, PYROSCOPE_SERVER_ADDRESS)', String(server), DEFAULT_SERVER), logger);
      base = new URL(DEFAULT_SERVER);
    }
    // Credentials in the URL become a header: fetch refuses URLs that carry them.
    const urlUser = safeDecode(base.username);
    const urlPassword = safeDecode(base.password);
    base.username = '';
    base.password = '';
    this.ingestUrl = new URL(`${base.pathname.replace(/\/+$/, '')}/ingest`, base);

    const appName = options.appName ?? envString('PYROSCOPE_APPLICATION_NAME');
    if (appName !== undefined && !APP_NAME.test(appName)) {
      warnConfig(
        `PyroscopeExporter appName (or PYROSCOPE_APPLICATION_NAME) ${JSON.stringify(String(appName).slice(0, 60))}: Pyroscope accepts letters, digits, "_", "." and "-" only; using the resource's service.name`,
        logger,
      );
    } else {
      this.appName = appName;
    }
    this.tags = {};
    for (const [key, value] of Object.entries(options.tags ?? {})) {
      if (typeof value !== 'string') {
        this.rejectOnce(`type:${key}`, `option tags: the value of tag ${JSON.stringify(key)} is not a string; tag left out`);
      } else if (this.validTag(key, value, 'option tags')) {
        this.tags[key] = value;
      }
    }
    const labels = options.sampleLabels;
    if (labels !== undefined && !(Array.isArray(labels) && labels.every((l) => typeof l === 'string'))) {
      warnConfig(`PyroscopeExporter option sampleLabels: expected an array of label names; using ${JSON.stringify(DEFAULT_PYROSCOPE_SAMPLE_LABELS)}`, logger);
      this.sampleLabels = new Set(DEFAULT_PYROSCOPE_SAMPLE_LABELS);
    } else {
      this.sampleLabels = new Set(labels ?? DEFAULT_PYROSCOPE_SAMPLE_LABELS);
    }

    const token = options.authToken ?? envString('PYROSCOPE_AUTH_TOKEN');
    const user = options.basicAuthUser ?? envString('PYROSCOPE_BASIC_AUTH_USER') ?? (urlUser || undefined);
    const password = options.basicAuthPassword ?? envString('PYROSCOPE_BASIC_AUTH_PASSWORD') ?? (urlPassword || undefined);
    if (user !== undefined && password !== undefined) {
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    } else if (token !== undefined) {
      this.headers.authorization = `Bearer ${token}`;
    }
    const tenant = options.tenantID ?? envString('PYROSCOPE_TENANT_ID');
    if (tenant !== undefined) this.headers['x-scope-orgid'] = tenant;
    this.headers = validHeaders('PyroscopeExporter', this.headers);
  }

  protected async requestsFor(batch: ProfileBatch): Promise<HttpRequestSpec[]> {
    const name = this.applicationName(batch);
    const keep = this.sampleLabels;
    const specs: HttpRequestSpec[] = [];
    for (const collected of batch.profiles) {
      const profile = relabelProfile(collected.profile, (labels) => spanProfileLabels(labels, keep));
      const form = new FormData();
      form.append('profile', new Blob([await encodeGzipped(profile)], { type: 'application/octet-stream' }), 'profile.pprof');
      const url = new URL(this.ingestUrl);
      url.searchParams.set('name', name);
      url.searchParams.set('from', String(Math.floor(batch.start.getTime() / 1000)));
      url.searchParams.set('until', String(Math.ceil(batch.end.getTime() / 1000)));
      url.searchParams.set('spyName', 'nodespy');
      if (collected.kind === 'wall' && Number(collected.profile.period) > 0) {
        url.searchParams.set('sampleRate', String(Math.round(1e9 / Number(collected.profile.period))));
      }
      specs.push({ url, headers: { ...this.headers }, body: form, what: `${collected.kind} profile of batch ${batch.sequence}` });
    }
    return specs;
  }

  /** `app{k=v,...}`: the application name and the labels of every profile. */
  private applicationName(batch: ProfileBatch): string {
    let app = this.appName ?? batch.tags[TAG_SERVICE_NAME] ?? 'unknown_service';
    if (!APP_NAME.test(app)) {
      const fixed = app.replace(/[^A-Za-z0-9_.-]/g, '_');
      this.rejectOnce(
        `app:${app}`,
        `service.name ${JSON.stringify(app)} holds characters Pyroscope refuses in an application name; sent as ${JSON.stringify(fixed)}`,
      );
      app = fixed;
    }
    const tags: Record<string, string> = {};
    for (const key of RESOURCE_TAGS) {
      const value = batch.tags[key];
      const label = key.replace(/\./g, '_');
      if (value !== undefined && this.validTag(label, value, `profile tag ${key}`)) tags[label] = value;
    }
    Object.assign(tags, this.tags);
    const list = Object.entries(tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return list === '' ? app : `${app}{${list}}`;
  }

  private validTag(key: string, value: string, source: string): boolean {
    if (!TAG_KEY.test(key) || key.startsWith('__') || key === 'service_name') {
      this.rejectOnce(
        `key:${key}`,
        `${source}: tag key ${JSON.stringify(key)} refused: Pyroscope accepts letters, digits and "_" (not leading "__", not service_name, which is the application name)`,
      );
      return false;
    }
    if (TAG_VALUE_FORBIDDEN.test(value)) {
      this.rejectOnce(
        `value:${key}`,
        `${source}: the value of tag ${JSON.stringify(key)} holds one of , { } = or a line break, which Pyroscope's name syntax cannot carry; tag left out`,
      );
      return false;
    }
    return true;
  }

  private rejectOnce(key: string, text: string): void {
    if (this.rejected.has(key)) return;
    this.rejected.add(key);
    warnConfig(`PyroscopeExporter: ${text}`, logger);
  }
}

/** Percent-decoded URL credentials; malformed encoding is kept as written rather than thrown. */
function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
