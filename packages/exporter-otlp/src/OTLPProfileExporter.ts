import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { diag } from '@opentelemetry/api';
import * as protobuf from 'protobufjs';
import { envPositiveInteger, firstEnv, HttpProfileExporter, parseKeyValueList, redactUrl, urlProblem, validHeaders, warnConfig } from '@spanprof/exporter-base';
import type { HttpExporterOptions, HttpRequestSpec, KnownExporter, ProfileBatch } from '@spanprof/exporter-base';
import { toOtlpRequest } from './convert';

const gzip = promisify(gzipCallback);
const logger = diag.createComponentLogger({ namespace: '@spanprof/exporter-otlp' });

/** The OTLP/HTTP path of the profiles signal. */
export const PROFILES_PATH = '/v1development/profiles';
const DEFAULT_ENDPOINT = 'http://localhost:4318';
const DEFAULT_TIMEOUT_MILLIS = 10_000;

export type OTLPCompression = 'gzip' | 'none';

export interface OTLPProfileExporterOptions extends HttpExporterOptions {
  /**
   * Full URL the requests go to. Default: `OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT`, else
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1development/profiles`, else
   * `http://localhost:4318/v1development/profiles`.
   */
  url?: string;
  /** Extra request headers (e.g. auth); they win over `OTEL_EXPORTER_OTLP_(PROFILES_)HEADERS`. */
  headers?: Record<string, string>;
  /** `gzip` (default) or `none`; else `OTEL_EXPORTER_OTLP_(PROFILES_)COMPRESSION`. */
  compression?: OTLPCompression;
}

let requestType: protobuf.Type | undefined;

/** `ExportProfilesServiceRequest` from the .proto files shipped with this package (opentelemetry-proto v1.10.0; v1.11.0 has the same fields). */
export function exportRequestType(): protobuf.Type {
  if (requestType === undefined) {
    const protoDir = join(__dirname, '..', '..', 'proto');
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(protoDir, target);
    root.loadSync('opentelemetry/proto/collector/profiles/v1development/profiles_service.proto', { keepCase: false });
    requestType = root.lookupType('opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest');
  }
  return requestType;
}

/**
 * Sends each batch as one OpenTelemetry profiles request (`ExportProfilesServiceRequest`,
 * opentelemetry-proto v1.10) over OTLP/HTTP with protobuf, gzipped by default.
 * Every span-labelled sample links to its trace and span through the link table.
 */
export class OTLPProfileExporter extends HttpProfileExporter {
  readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly compression: OTLPCompression;

  protected override recipeSource(): KnownExporter {
    return 'otlp';
  }

  constructor(options: OTLPProfileExporterOptions = {}) {
    super('OTLPProfileExporter', { ...options, timeoutMillis: options.timeoutMillis ?? envTimeout() });
    this.url = resolveUrl(options.url);
    this.compression = resolveCompression(options.compression);
    const fromEnv = { ...envHeaders('OTEL_EXPORTER_OTLP_HEADERS'), ...envHeaders('OTEL_EXPORTER_OTLP_PROFILES_HEADERS') };
    this.headers = validHeaders('OTLPProfileExporter', { ...fromEnv, ...options.headers });
  }

  protected async requestsFor(batch: ProfileBatch): Promise<HttpRequestSpec[]> {
    if (batch.profiles.length === 0) return [];
    const type = exportRequestType();
    // The request is built with the field types the encoder expects (64-bit values as
    // decimal strings): encoding it directly gives the bytes fromObject() would, in half the time.
    const encoded = type.encode(toOtlpRequest(batch)).finish();
    const body = this.compression === 'gzip' ? await gzip(encoded) : encoded;
    const headers: Record<string, string> = { ...this.headers, 'content-type': 'application/x-protobuf' };
    if (this.compression === 'gzip') headers['content-encoding'] = 'gzip';
    return [{ url: this.url, headers, body, what: `batch ${batch.sequence}` }];
  }
}

function resolveUrl(option: string | undefined): URL {
  const candidates: { from: string; value: string; append: boolean }[] = [];
  if (option !== undefined) candidates.push({ from: 'option url', value: option, append: false });
  const signal = firstEnv('OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT');
  if (signal) candidates.push({ from: signal.name, value: signal.value, append: false });
  const generic = firstEnv('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (generic) candidates.push({ from: generic.name, value: generic.value, append: true });
  const wrong: { from: string; value: string }[] = [];
  let chosen: URL | undefined;
  for (const { from, value, append } of candidates) {
    try {
      const url = new URL(append ? `${value.replace(/\/+$/, '')}${PROFILES_PATH}` : value);
      if (url.protocol === 'http:' || url.protocol === 'https:') {
        chosen = url;
        break;
      }
    } catch {
      // reported below
    }
    wrong.push({ from, value });
  }
  const url = chosen ?? new URL(`${DEFAULT_ENDPOINT}${PROFILES_PATH}`);
  for (const { from, value } of wrong) warnConfig(urlProblem(`OTLPProfileExporter ${from}`, value, redactUrl(url)), logger);
  return url;
}

function resolveCompression(option: string | undefined): OTLPCompression {
  const candidates: { from: string; value: string }[] = [];
  if (option !== undefined) candidates.push({ from: 'option compression', value: option });
  const env = firstEnv('OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION');
  if (env) candidates.push({ from: env.name, value: env.value });
  const wrong = candidates.filter(({ value }) => value !== 'gzip' && value !== 'none');
  const chosen = (candidates.find(({ value }) => value === 'gzip' || value === 'none')?.value as OTLPCompression | undefined) ?? 'gzip';
  for (const { from, value } of wrong) {
    warnConfig(`OTLPProfileExporter ${from}=${JSON.stringify(String(value).slice(0, 40))}: expected "gzip" or "none"; using "${chosen}"`, logger);
  }
  return chosen;
}

function envTimeout(): number {
  const env = firstEnv('OTEL_EXPORTER_OTLP_PROFILES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT');
  return env ? envPositiveInteger(env.name, env.value, DEFAULT_TIMEOUT_MILLIS) : DEFAULT_TIMEOUT_MILLIS;
}

function envHeaders(name: string): Record<string, string> {
  const env = firstEnv(name);
  return env ? parseKeyValueList(env.name, env.value) : {};
}
