/**
 * Starts the OpenTelemetry Node SDK for one process (sidecar or operator), configured only by the standard
 * OTEL_* environment: OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL / _HEADERS / _TIMEOUT, OTEL_TRACES_SAMPLER(_ARG),
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME, OTEL_PROPAGATORS, OTEL_BSP_*, OTEL_SDK_DISABLED.
 *
 * cli/commands/{sidecar,operator}.ts call startTelemetry() first thing (see docs/observability.md for why not
 * `node --import`). Telemetry never fails the process or a request: problems go to one rate-limited log line
 * through OTel's global error handler, spans leave through a batch processor (a dead collector costs a dropped
 * batch, never a request's latency), and shutdown gives the last export a bounded time.
 */
import { trace, type Span } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';

export interface TelemetryOptions {
  /** service.name when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one. */
  serviceName: string;
  /** Where telemetry problems are reported (rate-limited). */
  log?: (message: string) => void;
  /** Minimum time between two reports of telemetry errors (default 5 minutes). */
  errorLogIntervalMs?: number;
}

export interface Telemetry {
  /** True when spans are recorded and exported (SDK started with a trace exporter). */
  readonly tracing: boolean;
  /**
   * Flushes and stops the SDK; never throws and never takes longer than `timeoutMs` (default 3 s). Resolves false
   * when the flush did not finish in time (collector down): the exporter's own timeouts and retries would then keep
   * the process alive for several more seconds, so a CLI that is done should exit rather than wait for them.
   */
  shutdown(timeoutMs?: number): Promise<boolean>;
}

export const TRACER_NAME = 'modelroute';

let tracingOn = false;

/** Whether a real tracer is installed; helpers skip all span work when it is not (the hot path stays cheap). */
export function tracingEnabled(): boolean {
  return tracingOn;
}

/** Marks tracing on or off without the SDK (tests that install their own tracer provider). */
export function setTracingEnabled(on: boolean): void {
  tracingOn = on;
}

/**
 * Tracing is on only when the environment says where spans go (an OTLP endpoint) or which exporter to use.
 * The SDK's own default, localhost:4318, is rarely there next to an app: exporting to it would cost CPU and
 * memory on every request for spans nobody receives (measured by the benchmark suite), so we do not guess.
 */
export function tracingConfigured(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER);
}

/**
 * The SDK (and @opentelemetry/core) is imported only when tracing is configured: about 10 MB of a sidecar's
 * resident memory that a pod without a collector should not pay.
 */
export async function startTelemetry(opts: TelemetryOptions, env: NodeJS.ProcessEnv = process.env): Promise<Telemetry> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (!tracingConfigured(env)) {
    tracingOn = false;
    return { tracing: false, shutdown: () => Promise.resolve(true) };
  }
  let sdk: NodeSDK | undefined;
  try {
    const [{ NodeSDK }, { defaultResource, resourceFromAttributes }, { setGlobalErrorHandler }] = await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
    ]);
    // Only the SDK reports through OTel's global error handler, so it is set with it.
    setGlobalErrorHandler(rateLimitedErrorHandler(log, opts.errorLogIntervalMs ?? 5 * 60_000));
    sdk = new NodeSDK({
      // The default service name sits under the detected resource, so OTEL_SERVICE_NAME and
      // OTEL_RESOURCE_ATTRIBUTES=service.name=... still win.
      resource: defaultResource().merge(resourceFromAttributes({ 'service.name': opts.serviceName })),
      // Metrics are served by prom-client on the admin port, and logs go to stderr as JSON with trace ids:
      // no OTLP metric or log pipelines.
      metricReaders: [],
      logRecordProcessors: [],
    });
    sdk.start();
    tracingOn = hasRealTracer();
  } catch (err) {
    log(`telemetry disabled: the OpenTelemetry SDK did not start: ${(err as Error).message}`);
    sdk = undefined;
    tracingOn = false;
  }
  const started = sdk;
  return {
    tracing: tracingOn,
    async shutdown(timeoutMs = 3_000) {
      if (!started) return true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref();
      });
      const flushed = started.shutdown().then(
        () => true,
        () => false,
      );
      const inTime = await Promise.race([flushed, timeout]);
      clearTimeout(timer);
      tracingOn = false;
      return inTime;
    },
  };
}

/**
 * A span from a no-op tracer carries the all-zero trace id; an SDK span always has a real one, sampled or not.
 * The probe is never ended, so it is never exported.
 */
function hasRealTracer(): boolean {
  const probe: Span = trace.getTracer(TRACER_NAME).startSpan('modelroute.telemetry.probe', { root: true });
  return probe.spanContext().traceId !== '00000000000000000000000000000000';
}

/** Logs the first telemetry error at once, then at most one line per interval with the count suppressed. */
export function rateLimitedErrorHandler(
  log: (message: string) => void,
  intervalMs: number,
  now: () => number = Date.now,
): (err: unknown) => void {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (err) => {
    try {
      const t = now();
      if (t - lastAt < intervalMs) {
        suppressed++;
        return;
      }
      const more = suppressed > 0 ? ` (${suppressed} more since the last report)` : '';
      lastAt = t;
      suppressed = 0;
      log(`telemetry error (requests are not affected): ${describe(err)}${more}`);
    } catch {
      // The handler itself must never throw into whatever called it.
    }
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
