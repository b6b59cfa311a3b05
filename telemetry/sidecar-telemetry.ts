/**
 * What the sidecar reports per request, in one place: a SERVER span continuing the app's W3C traceparent, a
 * `decision` span, one CLIENT span per upstream attempt with GenAI attributes (its context injected into the
 * upstream request), fallbacks and circuit skips as events, and the GenAI / routing Prometheus metrics.
 *
 * Rules: nothing here throws into the request path (every entry point is guarded), nothing here waits, and with
 * no tracer installed no span work happens at all (metrics only). Prompt and completion text are recorded only
 * with `traceContent` (MODELROUTE_TRACE_CONTENT=true).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import type { Decision, RequestFacts, RoutingTable, TableBackend } from '../core/api/types.js';
import { EVENTS, GEN_AI, MR, operationName, providerName } from './attributes.js';
import { TRACER_NAME, tracingEnabled } from './otel.js';
import { createGenAiMetrics, type GenAiMetrics } from './sidecar-metrics.js';

export interface SidecarTelemetryOptions {
  /** The sidecar's prom-client registry; the GenAI and routing metrics are added to it. */
  registry: Registry;
  namespace: string;
  /** Record prompt and completion text on client spans (default: MODELROUTE_TRACE_CONTENT=true). */
  traceContent?: boolean;
  /** Create spans (default: whether startTelemetry installed a tracer). */
  tracing?: boolean;
  /** Where a telemetry bug is reported (once); it never reaches the request. */
  log?: (message: string) => void;
  now?: () => number;
}

/** What the decision span and the attempts need to know about the request. */
export interface RequestInfo {
  endpoint: RequestFacts['endpoint'];
  stream: boolean;
  messages: RequestFacts['messages'];
  maxOutputTokens?: number;
}

/** How an attempt ended without an answer reaching the client. */
export interface AttemptFailure {
  kind: string;
  status?: number;
  error?: Error;
}

/** One upstream call. All methods are safe to call in any order and never throw. */
export interface Attempt {
  /** Headers to add to the upstream request (traceparent, tracestate); empty when not traced. */
  readonly headers: Readonly<Record<string, string>>;
  /** Response headers arrived with this status. */
  responded(status: number): void;
  /** A non-streamed JSON answer: response model, id, finish reasons (and text with traceContent). */
  body(json: unknown): void;
  /** The first answer content reached the client. */
  firstChunk(): void;
  /**
   * Ends the attempt: `failure` when nothing reached the client and the next backend may be tried. After a
   * delivered answer the span stays open for the usage that follows (SidecarTelemetry.usage), within a bound.
   */
  end(failure?: AttemptFailure): void;
}

interface RequestState {
  startedAt: number;
  span?: Span;
  ctx: Context;
  info?: RequestInfo;
  attempt?: AttemptImpl;
  attempts: number;
}

interface Observer {
  observe(value: number): void;
}

/**
 * The GenAI metric children of one backend and endpoint, made once: prom-client's labels() hashes and checks
 * its label object on every call, which was the largest per-request cost of telemetry with tracing off.
 */
interface GenAiChildren {
  input: Observer;
  output: Observer;
  firstChunk: Observer;
  /** operationDuration by error type ('' when none). */
  duration: Map<string, Observer>;
  labels: ReturnType<SidecarTelemetry['labels']>;
}

const ROUTES = new Set(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/models']);
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const MAX_CONTENT_CHARS = 16 * 1024;
/** How long a successful attempt's span waits for its usage after the answer ended. */
const USAGE_WAIT_MS = 5_000;

export class SidecarTelemetry {
  readonly metrics: GenAiMetrics;
  private readonly tracing: boolean;
  private readonly traceContent: boolean;
  private readonly byReq = new WeakMap<IncomingMessage, RequestState>();
  private readonly byDecision = new WeakMap<Decision, RequestState>();
  private readonly tables = new Map<string, { version: string; publishedAt?: number }>();
  /** Keyed by the table's own objects, so a new table version starts afresh and old ones are collected. */
  private readonly children = new WeakMap<TableBackend, Map<string, GenAiChildren>>();
  private readonly decisionCounters = new WeakMap<RoutingTable, Map<string, { inc(): void }>>();
  private readonly now: () => number;
  private reported = false;

  constructor(private readonly o: SidecarTelemetryOptions) {
    this.tracing = o.tracing ?? tracingEnabled();
    this.traceContent = o.traceContent ?? process.env.MODELROUTE_TRACE_CONTENT === 'true';
    this.now = o.now ?? Date.now;
    this.metrics = createGenAiMetrics(o.registry, { tableAges: () => this.tableAges() });
  }

  /**
   * Runs one API request inside its SERVER span (a child of the app's traceparent, if any). The span ends when
   * the response closes; `handle` runs in the span's context, so log lines carry its ids.
   */
  request<T>(req: IncomingMessage, res: ServerResponse, handle: () => Promise<T>): Promise<T> {
    const state: RequestState = { startedAt: performance.now(), ctx: ROOT_CONTEXT, attempts: 0 };
    if (!this.tracing) {
      this.byReq.set(req, state);
      return handle();
    }
    this.guard(() => {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const method = req.method ?? 'GET';
      // Span names stay low-cardinality: a path the sidecar does not serve is not a route.
      const route = ROUTES.has(path) ? path : undefined;
      const span = tracer().startSpan(
        route ? `${method} ${route}` : method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': method,
            'url.path': path,
            ...(route && { 'http.route': route }),
            [MR.namespace]: this.o.namespace,
            ...(req.headers['user-agent'] && { 'user_agent.original': req.headers['user-agent'] }),
          },
        },
        parent,
      );
      state.span = span;
      state.ctx = trace.setSpan(parent, span);
      res.once('close', () =>
        this.guard(() => {
          span.setAttribute('http.response.status_code', res.statusCode);
          if (!res.writableFinished) span.setAttribute('error.type', 'client_closed');
          if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        }),
      );
    });
    this.byReq.set(req, state);
    return context.with(state.ctx, handle);
  }

  /** The request failed before or instead of an upstream answer, with this stable error code. */
  failed(req: IncomingMessage, code: string): void {
    const span = this.byReq.get(req)?.span;
    if (span) this.guard(() => span.setAttribute('error.type', code));
  }

  /** Records the decision: a `decision` span, its summary on the server span, and the decisions metric. */
  decided(req: IncomingMessage, d: Decision, info: RequestInfo, decideStartedAt?: number): void {
    this.guard(() => {
      const t = d.table;
      const strategy = t.strategy.kind;
      this.decisionCounter(t, tierLabel(d.tier)).inc();
      const state = this.byReq.get(req);
      if (!state) return;
      state.info = info;
      this.byDecision.set(d, state);
      const span = state.span;
      if (!span) return;
      const summary: Attributes = {
        [MR.route]: t.route.name,
        [MR.tableVersion]: t.tableVersion,
        [MR.strategy]: strategy,
        [MR.backend]: d.attempts[0]?.name ?? '',
      };
      if (d.tier !== undefined) summary[MR.tier] = d.tier;
      const reconcile = t.provenance?.reconcileTraceId;
      if (reconcile) summary[MR.reconcileTraceId] = reconcile;
      span.setAttributes(summary);
      const attributes: Attributes = {
        ...summary,
        [MR.reason]: d.reason,
        [MR.attempts]: d.attempts.map((b) => b.name),
      };
      if (d.score !== undefined) attributes[MR.score] = d.score;
      // Word n-gram features quote the prompt ("..."): they are content, recorded only with traceContent.
      const top = d.top?.filter((f) => this.traceContent || !f.feature.startsWith('"'));
      if (top?.length) attributes[MR.topFeatures] = top.map((f) => `${f.feature}=${f.weight.toFixed(3)}`);
      if (d.budget) attributes[MR.budget] = d.budget;
      if (t.provenance?.generation !== undefined) attributes[MR.tableGeneration] = t.provenance.generation;
      const links = reconcileLink(t);
      tracer()
        .startSpan(
          'decision',
          {
            kind: SpanKind.INTERNAL,
            attributes,
            ...(links && { links }),
            ...(decideStartedAt !== undefined && { startTime: hrFromPerf(decideStartedAt) }),
          },
          state.ctx,
        )
        .end();
    });
  }

  /** Starts one upstream attempt on backend `b` (a CLIENT span, whose context goes upstream). */
  attempt(d: Decision, b: TableBackend): Attempt {
    try {
      const state = this.byDecision.get(d);
      const a = new AttemptImpl(this, d, b, state);
      if (state) {
        state.attempt = a;
        state.attempts++;
      }
      return a;
    } catch (err) {
      this.report(err);
      return NOOP_ATTEMPT;
    }
  }

  /** Token counts of the answer (after the attempt that produced it). */
  usage(d: Decision, b: TableBackend, tokens: { input: number; output: number; source?: string }): void {
    this.guard(() => {
      const state = this.byDecision.get(d);
      const m = this.genAi(d, b, state?.info?.endpoint ?? 'chat');
      m.input.observe(tokens.input);
      m.output.observe(tokens.output);
      state?.attempt?.usage(tokens);
    });
  }

  /** The request left backend `b` for the next one (reason: a failure kind, 'credential' or 'circuit-open'). */
  fallback(d: Decision, b: TableBackend, reason: string): void {
    const span = this.byDecision.get(d)?.span;
    if (!span) return;
    this.guard(() => {
      const name = reason === 'circuit-open' ? EVENTS.circuitOpen : EVENTS.fallback;
      span.addEvent(name, { [MR.backend]: b.name, [MR.failure]: reason });
    });
  }

  /** Top features are worth finding only for a request whose span is recorded (traced and sampled). */
  explaining(): boolean {
    return this.tracing && (trace.getActiveSpan()?.isRecording() ?? false);
  }

  /** The tables in use changed: observes propagation lag once per new version. */
  tablesChanged(tables: ReadonlyArray<RoutingTable>): void {
    this.guard(() => {
      const seen = new Set<string>();
      for (const t of tables) {
        seen.add(t.route.name);
        if (this.tables.get(t.route.name)?.version === t.tableVersion) continue;
        const at = t.provenance?.publishedAt ? Date.parse(t.provenance.publishedAt) : NaN;
        this.tables.set(t.route.name, {
          version: t.tableVersion,
          ...(Number.isFinite(at) && { publishedAt: at }),
        });
        if (Number.isFinite(at))
          this.metrics.tablePropagation.labels(this.o.namespace).observe(Math.max(0, (this.now() - at) / 1000));
      }
      for (const route of [...this.tables.keys()]) if (!seen.has(route)) this.tables.delete(route);
    });
  }

  // -- internals shared with AttemptImpl ---------------------------------------------------------------------------

  /** @internal */
  get traced(): boolean {
    return this.tracing;
  }

  /** @internal */
  get withContent(): boolean {
    return this.traceContent;
  }

  /** @internal */
  labels(d: Decision, b: TableBackend, endpoint: RequestFacts['endpoint']) {
    return {
      gen_ai_operation_name: operationName(endpoint),
      gen_ai_provider_name: providerName(b.provider),
      gen_ai_request_model: b.model,
      namespace: this.o.namespace,
      route: d.table.route.name,
      backend: b.name,
    };
  }

  /** @internal */
  genAi(d: Decision, b: TableBackend, endpoint: RequestFacts['endpoint']): GenAiChildren {
    let byEndpoint = this.children.get(b);
    if (!byEndpoint) {
      byEndpoint = new Map();
      this.children.set(b, byEndpoint);
    }
    let c = byEndpoint.get(endpoint);
    if (!c) {
      const labels = this.labels(d, b, endpoint);
      c = {
        input: this.metrics.tokenUsage.labels({ ...labels, gen_ai_token_type: 'input' }),
        output: this.metrics.tokenUsage.labels({ ...labels, gen_ai_token_type: 'output' }),
        firstChunk: this.metrics.timeToFirstChunk.labels(labels),
        duration: new Map(),
        labels,
      };
      byEndpoint.set(endpoint, c);
    }
    return c;
  }

  /** @internal */
  duration(d: Decision, b: TableBackend, endpoint: RequestFacts['endpoint'], errorType: string): Observer {
    const c = this.genAi(d, b, endpoint);
    let o = c.duration.get(errorType);
    if (!o) {
      o = this.metrics.operationDuration.labels({ ...c.labels, error_type: errorType });
      c.duration.set(errorType, o);
    }
    return o;
  }

  private decisionCounter(t: RoutingTable, tier: string): { inc(): void } {
    let byTier = this.decisionCounters.get(t);
    if (!byTier) {
      byTier = new Map();
      this.decisionCounters.set(t, byTier);
    }
    let c = byTier.get(tier);
    if (!c) {
      c = this.metrics.decisions.labels(this.o.namespace, t.route.name, t.strategy.kind, tier);
      byTier.set(tier, c);
    }
    return c;
  }

  /** @internal Runs telemetry code; a bug in it is reported once and never reaches the request. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    if (this.reported) return;
    this.reported = true;
    try {
      this.o.log?.(`telemetry error (requests are not affected): ${(err as Error)?.message ?? String(err)}`);
    } catch {
      // nothing left to tell
    }
  }

  private *tableAges(): Iterable<{ namespace: string; route: string; seconds: number }> {
    const now = this.now();
    for (const [route, t] of this.tables) {
      if (t.publishedAt !== undefined)
        yield { namespace: this.o.namespace, route, seconds: Math.max(0, (now - t.publishedAt) / 1000) };
    }
  }
}

class AttemptImpl implements Attempt {
  readonly headers: Readonly<Record<string, string>>;
  private readonly startedAt = performance.now();
  private readonly span: Span | undefined;
  private status: number | undefined;
  private ended = false;
  private spanEnded = false;
  private usageWait: NodeJS.Timeout | undefined;
  private firstChunkSeen = false;

  constructor(
    private readonly t: SidecarTelemetry,
    private readonly d: Decision,
    private readonly b: TableBackend,
    private readonly state: RequestState | undefined,
  ) {
    const info = state?.info;
    const endpoint = info?.endpoint ?? 'chat';
    if (!t.traced || !state) {
      this.headers = NO_HEADERS;
      return;
    }
    const op = operationName(endpoint);
    const attributes: Attributes = {
      [GEN_AI.operationName]: op,
      [GEN_AI.providerName]: providerName(b.provider),
      [GEN_AI.system]: providerName(b.provider),
      [GEN_AI.requestModel]: b.model,
      [GEN_AI.requestStream]: info?.stream ?? false,
      [MR.route]: d.table.route.name,
      [MR.backend]: b.name,
      [MR.attempt]: state.attempts,
      ...serverOf(b.baseURL),
    };
    if (info?.maxOutputTokens !== undefined) attributes[GEN_AI.requestMaxTokens] = info.maxOutputTokens;
    if (t.withContent && info) attributes[GEN_AI.inputMessages] = clip(JSON.stringify(info.messages));
    this.span = tracer().startSpan(`${op} ${b.model}`, { kind: SpanKind.CLIENT, attributes }, state.ctx);
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(state.ctx, this.span), headers);
    this.headers = headers;
  }

  responded(status: number): void {
    this.status = status;
    this.span?.setAttribute('http.response.status_code', status);
  }

  body(json: unknown): void {
    const span = this.span;
    if (!span) return;
    this.t.guard(() => {
      const j = json as {
        id?: unknown;
        model?: unknown;
        status?: unknown;
        choices?: { finish_reason?: unknown; message?: unknown; text?: unknown }[];
      } | null;
      if (!j || typeof j !== 'object') return;
      if (typeof j.model === 'string') span.setAttribute(GEN_AI.responseModel, j.model);
      if (typeof j.id === 'string') span.setAttribute(GEN_AI.responseId, j.id);
      const reasons = Array.isArray(j.choices)
        ? j.choices.map((c) => c?.finish_reason).filter((r): r is string => typeof r === 'string')
        : typeof j.status === 'string'
          ? [j.status]
          : [];
      if (reasons.length > 0) span.setAttribute(GEN_AI.finishReasons, reasons);
      if (this.t.withContent && Array.isArray(j.choices))
        span.setAttribute(GEN_AI.outputMessages, clip(JSON.stringify(j.choices.map((c) => c?.message ?? c?.text))));
    });
  }

  firstChunk(): void {
    if (this.firstChunkSeen || !this.state) return;
    this.firstChunkSeen = true;
    this.t.guard(() =>
      this.t
        .genAi(this.d, this.b, this.state?.info?.endpoint ?? 'chat')
        .firstChunk.observe((performance.now() - this.state!.startedAt) / 1000),
    );
  }

  /** @internal Called by SidecarTelemetry.usage for the request's latest attempt. */
  usage(tokens: { input: number; output: number; source?: string }): void {
    const span = this.span;
    if (!span || this.spanEnded) return;
    const p = this.b.pricing;
    // The same rounding as the usage recorder: micro-USD per request.
    const cost = Math.round(tokens.input * p.inputPerMillion + tokens.output * p.outputPerMillion) / 1e6;
    span.setAttributes({
      [GEN_AI.inputTokens]: tokens.input,
      [GEN_AI.outputTokens]: tokens.output,
      [MR.costUSD]: cost,
      ...(tokens.source && { [MR.tokensSource]: tokens.source }),
    });
    if (this.ended) this.endSpan();
  }

  end(failure?: AttemptFailure): void {
    if (this.ended) return;
    this.ended = true;
    this.t.guard(() => {
      const info = this.state?.info;
      const errorType = failure
        ? failure.kind
        : this.status !== undefined && this.status >= 400
          ? String(this.status)
          : '';
      if (!failure && !info?.stream && this.status !== undefined && this.status < 300) this.firstChunk();
      this.t
        .duration(this.d, this.b, info?.endpoint ?? 'chat', errorType)
        .observe((performance.now() - this.startedAt) / 1000);
      const span = this.span;
      if (!span) return;
      if (failure?.status !== undefined) span.setAttribute('http.response.status_code', failure.status);
      if (errorType !== '') {
        span.setAttribute('error.type', errorType);
        span.setStatus({ code: SpanStatusCode.ERROR, ...(failure?.error && { message: failure.error.message }) });
      }
      if (failure || errorType !== '') return this.endSpan();
      // An answer was delivered: its usage is settled just after (counted by the tokenizer when the backend sent
      // none), so the span waits for it, within a bound.
      this.usageWait = setTimeout(() => this.endSpan(), USAGE_WAIT_MS);
      this.usageWait.unref();
    });
  }

  private endSpan(): void {
    if (this.spanEnded) return;
    this.spanEnded = true;
    clearTimeout(this.usageWait);
    this.span?.end();
  }
}

const NOOP_ATTEMPT: Attempt = {
  headers: NO_HEADERS,
  responded() {},
  body() {},
  firstChunk() {},
  end() {},
};

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

function tierLabel(tier: number | undefined): string {
  return tier === undefined ? '-' : String(tier);
}

function reconcileLink(t: RoutingTable): Link[] | undefined {
  const p = t.provenance;
  if (!p?.reconcileTraceId || !p.reconcileSpanId) return undefined;
  return [{ context: { traceId: p.reconcileTraceId, spanId: p.reconcileSpanId, traceFlags: 1, isRemote: true } }];
}

function serverOf(baseURL: string): Attributes {
  try {
    const u = new URL(baseURL);
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return { 'server.address': u.hostname, 'server.port': port };
  } catch {
    return {};
  }
}

function clip(s: string): string {
  return s.length > MAX_CONTENT_CHARS ? `${s.slice(0, MAX_CONTENT_CHARS)}...` : s;
}

/** performance.now() milliseconds as an OTel HrTime on the wall clock. */
function hrFromPerf(ms: number): [number, number] {
  const wall = performance.timeOrigin + ms;
  const seconds = Math.floor(wall / 1000);
  return [seconds, Math.round((wall - seconds * 1000) * 1e6)];
}
