/**
 * End to end, as users run the product: a real kube-apiserver with the CRD, `modelroute operator` and
 * `modelroute sidecar` as processes (configured only by OTEL_* variables, pointed at a real Jaeger), real Redis, and
 * fake upstream model servers that trace like instrumented ones. A two-tier complexity ModelRoute is applied with
 * kubectl; a simple and a hard prompt go through the `openai` SDK with known W3C traceparents; then Jaeger must hold,
 * for each, the sidecar's server span under the app's span, a decision span saying which tier and why, a GenAI client
 * span with the usage and cost, and the backend's span under that client span; and the operator's reconcile span
 * that published the table version the request was routed by. The sidecar's /metrics must have moved by exactly
 * that traffic.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { createClassifier, type ModelWeights } from '../../../core/classifier/model.js';
import { sharedKube, sharedRedis, startJaeger, type Jaeger, type Kube } from '../../helpers/control-plane.js';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { waitFor } from '../../helpers/wait.js';
import { applyCRD, createNamespace, uniqueNs } from '../operator/fixtures.js';
import { startOperatorProcess, startSidecarProcess, type CliProcess } from './cli-process.js';
import {
  arrayTag,
  getTrace,
  parentOf,
  serviceOf,
  spansOf,
  tagOf,
  tagsOf,
  type JaegerSpan,
  type JaegerTrace,
} from './jaeger-api.js';
import { scrape, sum, type Sample } from './prom-text.js';
import { traceBackends, type TracedBackends } from './traced-backends.js';

const SIMPLE = 'What is the capital of France?';
const HARD =
  'Design a lock-free concurrent hash map in C++ with a linearizability proof, analyse the memory reclamation ' +
  'strategy (hazard pointers vs epoch-based), and derive the amortized complexity of resize under contention.';
const PRICING = {
  cheap: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  smart: { inputPerMillion: 2.5, outputPerMillion: 10 },
};

const classifier = createClassifier(
  JSON.parse(readFileSync(new URL('../../../core/classifier/weights.json', import.meta.url), 'utf8')) as ModelWeights,
);
const scoreOf = (prompt: string) => classifier.score([{ role: 'user', content: prompt }]).score;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

let kube: Kube;
let jaeger: Jaeger;
let redisURL: string;
let ns: string;
let cheap: FakeUpstream;
let smart: FakeUpstream;
let backends: TracedBackends;
let operator: CliProcess<{ admin: string }> | undefined;
let sidecar: CliProcess<{ baseURL: string; admin: string }> | undefined;

beforeAll(async () => {
  [kube, jaeger, { url: redisURL }] = await Promise.all([sharedKube(), startJaeger(), sharedRedis()]);
  ns = uniqueNs('e2e-trace');
  await applyCRD(kube);
  await createNamespace(kube, ns);
  [cheap, smart] = await Promise.all([startFakeUpstream({ name: 'cheap' }), startFakeUpstream({ name: 'smart' })]);
  backends = traceBackends(
    jaeger.otlpHttpEndpoint,
    new Map([
      [cheap.port, 'model-cheap'],
      [smart.port, 'model-smart'],
    ]),
  );
  // Only standard OTEL_* variables: the service names are the products' defaults.
  const otel = {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=e2e,k8s.namespace.name=${ns}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  [operator, sidecar] = await Promise.all([
    startOperatorProcess({ kubeconfig: kube.kubeconfigPath, redisURL, namespace: ns, env: otel }),
    startSidecarProcess({ redisURL, namespace: ns, env: otel }),
  ]);
}, 180_000);

afterAll(async () => {
  // The route goes first, while the operator still runs to release its finalizer (the apiserver is shared).
  await kube?.kubectl(['delete', 'modelroute', '--all', '-n', ns, '--ignore-not-found', '--timeout=30s']);
  await Promise.all([sidecar?.stop(), operator?.stop()]);
  await backends?.close();
  await Promise.all([cheap?.close(), smart?.close()]);
  await kube?.kubectl(['delete', 'namespace', ns, '--wait=false']);
  await jaeger?.stop();
}, 60_000);

describe('kubectl apply to a traced answer', () => {
  it('traces every request from the app through the decision to the backend, back to the reconcile', async () => {
    // The boundary sits between the two prompts' scores, so which tier each takes is known in advance.
    const [simpleScore, hardScore] = [scoreOf(SIMPLE), scoreOf(HARD)];
    expect(hardScore - simpleScore).toBeGreaterThan(0.1);
    const upTo = Math.round(((simpleScore + hardScore) / 2) * 1000) / 1000;

    const manifest = {
      apiVersion: 'modelroute.dev/v1alpha1',
      kind: 'ModelRoute',
      metadata: { name: 'chat', namespace: ns },
      spec: {
        match: { models: ['auto'] },
        backends: [
          {
            name: 'cheap',
            provider: 'openai-compatible',
            baseURL: cheap.baseURL,
            model: 'small-1',
            pricing: PRICING.cheap,
          },
          {
            name: 'smart',
            provider: 'openai-compatible',
            baseURL: smart.baseURL,
            model: 'large-1',
            pricing: PRICING.smart,
          },
        ],
        strategy: { complexity: { tiers: [{ backend: 'cheap', upTo }, { backend: 'smart' }] } },
      },
    };
    const applied = await kube.kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
    expect(applied.code).toBe(0);
    const waited = await kube.kubectl(['wait', '-n', ns, '--for=condition=Ready', 'modelroute/chat', '--timeout=60s']);
    expect(waited.code).toBe(0);
    const status = JSON.parse((await kube.kubectl(['get', '-n', ns, 'modelroute/chat', '-o', 'json'])).stdout) as {
      status: { tableVersion: string };
    };
    const version = status.status.tableVersion;
    expect(version).toMatch(/^[0-9a-f]{20}$/);

    const { baseURL, admin } = sidecar!.ready;
    await waitFor(
      async () => {
        const r = await fetch(`${admin}/debug/tables`);
        const body = (await r.json()) as { tables: { tableVersion: string }[] };
        return body.tables.some((t) => t.tableVersion === version);
      },
      { timeoutMs: 15_000, message: `sidecar routing by table ${version}` },
    );
    const before = await scrape(admin);

    // The app: the real openai SDK, each call under a span of its own trace.
    const openai = new OpenAI({ apiKey: 'app-key', baseURL, maxRetries: 0, timeout: 20_000 });
    const app = { simple: { traceId: hex(16), spanId: hex(8) }, hard: { traceId: hex(16), spanId: hex(8) } };
    const ask = (prompt: string, t: { traceId: string; spanId: string }) =>
      openai.chat.completions
        .create(
          { model: 'auto', messages: [{ role: 'user', content: prompt }] },
          { headers: { traceparent: `00-${t.traceId}-${t.spanId}-01` } },
        )
        .withResponse();
    const simple = await ask(SIMPLE, app.simple);
    const hard = await ask(HARD, app.hard);

    // What the app saw: each prompt answered by the tier its score called for.
    expect(simple.data.choices[0]?.message.content).toBe('reply from cheap to small-1');
    expect(simple.response.headers.get('x-modelroute-tier')).toBe('0');
    expect(hard.data.choices[0]?.message.content).toBe('reply from smart to large-1');
    expect(hard.response.headers.get('x-modelroute-tier')).toBe('1');
    expect(cheap.requests).toHaveLength(1);
    expect(smart.requests).toHaveLength(1);
    const usage = { cheap: cheap.requests[0]!.usageSent!, smart: smart.requests[0]!.usageSent! };

    // What Jaeger stored for each request.
    await backends.flush();
    const complete = async (traceId: string) => {
      let seen: JaegerTrace | undefined;
      return waitFor(
        async () => {
          const t = (seen = await getTrace(jaeger.queryUrl, traceId));
          const services = new Set(t?.spans.map((s) => serviceOf(t, s)));
          return t && t.spans.length >= 4 && services.size >= 2 ? t : undefined;
        },
        {
          timeoutMs: 30_000,
          message: () =>
            `trace ${traceId} with sidecar and backend spans; Jaeger has: ` +
            JSON.stringify(seen?.spans.map((s) => `${serviceOf(seen!, s)}: ${s.operationName}`) ?? null),
        },
      );
    };
    const traces = { simple: await complete(app.simple.traceId), hard: await complete(app.hard.traceId) };

    const reconcileTraceIds = new Set<string>();
    for (const [which, expected] of [
      ['simple', { tier: 0, backend: 'cheap', model: 'small-1', service: 'model-cheap', score: simpleScore }],
      ['hard', { tier: 1, backend: 'smart', model: 'large-1', service: 'model-smart', score: hardScore }],
    ] as const) {
      const t: JaegerTrace = traces[which];
      const ids = app[which];
      const one = (service: string, op: string | RegExp): JaegerSpan => {
        const found = spansOf(t, service, op);
        expect(found.map((s) => s.operationName)).toHaveLength(1);
        return found[0]!;
      };

      // The sidecar's server span continues the app's trace, under the app's span.
      const server = one('modelroute-sidecar', 'POST /v1/chat/completions');
      expect(parentOf(server)).toBe(`${ids.traceId}/${ids.spanId}`);
      expect(tagsOf(server)).toMatchObject({
        'span.kind': 'server',
        'http.request.method': 'POST',
        'http.response.status_code': 200,
        'modelroute.route': 'chat',
        'modelroute.tier': expected.tier,
        'modelroute.backend': expected.backend,
        'modelroute.table.version': version,
      });
      const reconcileTraceId = tagOf(server, 'modelroute.table.reconcile_trace_id');
      expect(reconcileTraceId).toMatch(/^[0-9a-f]{32}$/);
      reconcileTraceIds.add(reconcileTraceId as string);

      // The decision: which tier, by what score, on which table.
      const decision = one('modelroute-sidecar', 'decision');
      expect(parentOf(decision)).toBe(`${ids.traceId}/${server.spanID}`);
      expect(tagsOf(decision)).toMatchObject({
        'modelroute.strategy': 'complexity',
        'modelroute.tier': expected.tier,
        'modelroute.backend': expected.backend,
        'modelroute.table.version': version,
        'modelroute.table.generation': 1,
      });
      expect(tagOf(decision, 'modelroute.score')).toBeCloseTo(expected.score, 6);
      expect(arrayTag(decision, 'modelroute.top_features')?.length).toBeGreaterThan(0);
      expect(String(tagOf(decision, 'modelroute.reason'))).toContain(`tier ${expected.tier}`);

      // One GenAI client span for the upstream call, with what it used and cost.
      const client = one('modelroute-sidecar', `chat ${expected.model}`);
      expect(parentOf(client)).toBe(`${ids.traceId}/${server.spanID}`);
      const u = usage[expected.backend];
      const p = PRICING[expected.backend];
      expect(tagsOf(client)).toMatchObject({
        'span.kind': 'client',
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai_compatible',
        'gen_ai.system': 'openai_compatible',
        'gen_ai.request.model': expected.model,
        'gen_ai.response.model': expected.model,
        'gen_ai.usage.input_tokens': u.input,
        'gen_ai.usage.output_tokens': u.output,
        'http.response.status_code': 200,
        'modelroute.backend': expected.backend,
      });
      expect(arrayTag(client, 'gen_ai.response.finish_reasons')).toEqual(['stop']);
      expect(tagOf(client, 'modelroute.cost_usd')).toBeCloseTo(
        Math.round(u.input * p.inputPerMillion + u.output * p.outputPerMillion) / 1e6,
        9,
      );

      // The backend received the client span's context: its own span is that span's child.
      const backend = one(expected.service, 'POST /v1/chat/completions');
      expect(parentOf(backend)).toBe(`${ids.traceId}/${client.spanID}`);

      // No prompt or completion text unless MODELROUTE_TRACE_CONTENT=true.
      const everyValue = t.spans.flatMap((s) => s.tags.map((tag) => String(tag.value))).join('\n');
      expect(everyValue).not.toContain(which === 'simple' ? SIMPLE : HARD);
      expect(everyValue).not.toContain('reply from');

      // The standard resource variables reached both processes.
      const sidecarTags = Object.fromEntries(t.processes[server.processID]!.tags.map((tag) => [tag.key, tag.value]));
      expect(sidecarTags['deployment.environment.name']).toBe('e2e');
    }

    // Both requests name the same reconcile: the operator's span that published this version.
    expect(reconcileTraceIds.size).toBe(1);
    const [reconcileTraceId] = [...reconcileTraceIds];
    const reconcileTrace = await waitFor(() => getTrace(jaeger.queryUrl, reconcileTraceId!), {
      timeoutMs: 30_000,
      message: `the operator's reconcile trace ${reconcileTraceId}`,
    });
    const reconciles = spansOf(reconcileTrace, 'modelroute-operator', 'reconcile');
    expect(reconciles.map(tagsOf)).toEqual([
      expect.objectContaining({
        'modelroute.namespace': ns,
        'modelroute.route': 'chat',
        'modelroute.generation': 1,
        'modelroute.reconcile.outcome': 'published',
        'modelroute.table.version': version,
        'modelroute.table.written': true,
      }),
    ]);
    // And the decision spans link to it.
    for (const t of Object.values(traces)) {
      const decision = spansOf(t, 'modelroute-sidecar', 'decision')[0]!;
      expect(decision.references).toContainEqual(
        expect.objectContaining({ traceID: reconcileTraceId, spanID: reconciles[0]!.spanID }),
      );
    }

    // /metrics moved by exactly the two requests sent.
    const delta = (after: Sample[], name: string, labels: Record<string, string> = {}) =>
      sum(after, name, labels) - sum(before, name, labels);
    const expectations: [string, Record<string, string>, number][] = [
      ['modelroute_sidecar_requests_total', { route: 'chat', backend: 'cheap', status: '200' }, 1],
      ['modelroute_sidecar_requests_total', { route: 'chat', backend: 'smart', status: '200' }, 1],
      ['modelroute_sidecar_requests_total', {}, 2],
      ['modelroute_sidecar_decisions_total', { route: 'chat', strategy: 'complexity', tier: '0' }, 1],
      ['modelroute_sidecar_decisions_total', { route: 'chat', strategy: 'complexity', tier: '1' }, 1],
      ['modelroute_sidecar_decisions_total', {}, 2],
      ['modelroute_sidecar_fallbacks_total', {}, 0],
      ['modelroute_sidecar_tokens_total', { backend: 'cheap', direction: 'input' }, usage.cheap.input],
      ['modelroute_sidecar_tokens_total', { backend: 'cheap', direction: 'output' }, usage.cheap.output],
      ['modelroute_sidecar_tokens_total', { backend: 'smart', direction: 'input' }, usage.smart.input],
      ['modelroute_sidecar_tokens_total', { backend: 'smart', direction: 'output' }, usage.smart.output],
      ['gen_ai_client_token_usage_count', { backend: 'cheap', gen_ai_token_type: 'input' }, 1],
      [
        'gen_ai_client_token_usage_sum',
        { backend: 'cheap', gen_ai_token_type: 'input', namespace: ns },
        usage.cheap.input,
      ],
      [
        'gen_ai_client_token_usage_sum',
        { backend: 'smart', gen_ai_token_type: 'output', gen_ai_request_model: 'large-1' },
        usage.smart.output,
      ],
      ['gen_ai_client_operation_duration_seconds_count', { backend: 'cheap', error_type: '' }, 1],
      ['gen_ai_client_operation_duration_seconds_count', { backend: 'smart', gen_ai_operation_name: 'chat' }, 1],
      ['gen_ai_client_operation_time_to_first_chunk_seconds_count', {}, 2],
      ['modelroute_sidecar_upstream_latency_seconds_count', {}, 2],
    ];
    const mismatches = (after: Sample[]) =>
      expectations
        .map(([name, labels, want]) => ({ name, labels, want, got: delta(after, name, labels) }))
        .filter((e) => e.got !== e.want);
    // Usage is recorded just after the answer is sent: wait for it, then require exact equality.
    let after = await scrape(admin);
    await waitFor(
      async () => {
        after = await scrape(admin);
        return mismatches(after).length === 0;
      },
      { timeoutMs: 5_000 },
    ).catch(() => undefined);
    expect(mismatches(after)).toEqual([]);
    const costDelta = delta(after, 'modelroute_sidecar_cost_usd_total', { route: 'chat' });
    const costOf = (b: 'cheap' | 'smart') =>
      Math.round(usage[b].input * PRICING[b].inputPerMillion + usage[b].output * PRICING[b].outputPerMillion) / 1e6;
    expect(costDelta).toBeCloseTo(costOf('cheap') + costOf('smart'), 9);
    // The table in use was published moments ago by the operator, and its propagation was observed once.
    const age = sum(after, 'modelroute_sidecar_table_age_seconds', { route: 'chat' });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(120);
    expect(sum(after, 'modelroute_sidecar_table_propagation_seconds_count')).toBe(1);

    // The operator's own metrics say it leads and published this table.
    const op = await scrape(operator!.ready.admin);
    expect(sum(op, 'modelroute_operator_leader')).toBe(1);
    expect(sum(op, 'modelroute_operator_tables_published_total')).toBeGreaterThanOrEqual(1);

    // Log lines written during a reconcile carry its trace and span ids: deleting the route logs the release of
    // the finalizer from inside the finalizing reconcile, whose span Jaeger then holds.
    const deleted = await kube.kubectl(['delete', 'modelroute', 'chat', '-n', ns, '--timeout=30s']);
    expect(deleted.code).toBe(0);
    const line = await waitFor(
      () =>
        operator!.logs
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { msg?: string; trace_id?: string; span_id?: string })
          .find((l) => l.msg === 'table removed, finalizer released'),
      { timeoutMs: 10_000, message: 'the finalizer log line' },
    );
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    const finalizing = await waitFor(
      async () => {
        const t = await getTrace(jaeger.queryUrl, line.trace_id!);
        return t?.spans.find((s) => s.spanID === line.span_id);
      },
      { timeoutMs: 30_000, message: `the reconcile span ${line.trace_id}/${line.span_id} of the log line` },
    );
    expect(finalizing.operationName).toBe('reconcile');
    expect(tagsOf(finalizing)).toMatchObject({
      'modelroute.route': 'chat',
      'modelroute.reconcile.outcome': 'finalized',
    });
  }, 180_000);
});
