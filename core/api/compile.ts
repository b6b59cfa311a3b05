/**
 * ModelRoute -> RoutingTable. Pure: the operator resolves and seals credentials and passes `seal`; without it the
 * table keeps only the Secret reference (enough for `modelroute validate`, and the sidecar refuses to call such a
 * backend). The table is self-contained and its tableVersion is a hash of its content, so an unchanged spec
 * recompiles to the same version and nothing is republished.
 */
import { createHash } from 'node:crypto';
import { canonicalJSON } from './canonical-json.js';
import {
  ALL_FAILURE_KINDS,
  DEFAULT_CAPABILITIES,
  DEFAULT_PRIORITY,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUTS,
  TABLE_VERSION_HEX_CHARS,
} from './defaults.js';
import { InvalidRouteError } from './errors.js';
import {
  TABLE_SCHEMA_VERSION,
  type BackendSpec,
  type FallbackSpec,
  type ModelRoute,
  type RoutingTable,
  type SealedCredential,
  type SecretKeyRef,
  type StrategySpec,
  type TableBackend,
  type TableStrategy,
} from './types.js';
import { validateRoute } from './validate.js';

export interface CompileOptions {
  /** Seals the credential a Secret key holds; undefined leaves the reference unsealed (the operator reports it). */
  seal?: (ref: SecretKeyRef) => SealedCredential | undefined;
}

/** Compiles a route; throws InvalidRouteError (code ERR_INVALID_ROUTE) with every problem validateRoute finds. */
export function compile(route: ModelRoute, opts: CompileOptions = {}): RoutingTable {
  const problems = validateRoute(route);
  const namespace = route.metadata.namespace ?? 'default';
  if (problems.length > 0) throw new InvalidRouteError(`${namespace}/${route.metadata.name}`, problems);
  const spec = route.spec;
  const fallbacks = new Map<string, FallbackSpec>((spec.fallbacks ?? []).map((f) => [f.backend, f]));
  const body: Omit<RoutingTable, 'tableVersion'> = {
    schemaVersion: TABLE_SCHEMA_VERSION,
    route: { namespace, name: route.metadata.name },
    match: {
      models: [...spec.match.models],
      // Header names are case-insensitive; lower-casing here saves work on every request.
      headers: (spec.match.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), value: h.value })),
      priority: spec.match.priority ?? DEFAULT_PRIORITY,
    },
    backends: spec.backends.map((b) => compileBackend(b, fallbacks.get(b.name), opts)),
    strategy: compileStrategy(spec.strategy, spec.backends),
    retry: {
      attempts: spec.retry?.attempts ?? DEFAULT_RETRY.attempts,
      backoffMs: spec.retry?.backoffMs ?? DEFAULT_RETRY.backoffMs,
    },
    overrides: {
      allowTierHeader: spec.overrides?.allowTierHeader ?? false,
      allowBackendHeader: spec.overrides?.allowBackendHeader ?? false,
    },
    ...(spec.budget ? { budget: { ...spec.budget } } : {}),
  };
  return { ...body, tableVersion: tableVersionOf(body) };
}

/** The content hash of a table without its tableVersion and provenance fields (provenance is not content). */
export function tableVersionOf(table: Omit<RoutingTable, 'tableVersion'> & { tableVersion?: string }): string {
  const { tableVersion: _ignored, provenance: _notContent, ...rest } = table;
  return createHash('sha256').update(canonicalJSON(rest)).digest('hex').slice(0, TABLE_VERSION_HEX_CHARS);
}

function compileBackend(b: BackendSpec, fallback: FallbackSpec | undefined, opts: CompileOptions): TableBackend {
  const out: TableBackend = {
    name: b.name,
    provider: b.provider,
    baseURL: b.baseURL.replace(/\/+$/, ''),
    model: b.model,
    pricing: { inputPerMillion: b.pricing?.inputPerMillion ?? 0, outputPerMillion: b.pricing?.outputPerMillion ?? 0 },
    capabilities: {
      reasoning: b.capabilities?.reasoning ?? DEFAULT_CAPABILITIES.reasoning,
      contextWindow: b.capabilities?.contextWindow ?? DEFAULT_CAPABILITIES.contextWindow,
      maxOutputTokens: b.capabilities?.maxOutputTokens ?? DEFAULT_CAPABILITIES.maxOutputTokens,
      tools: b.capabilities?.tools ?? DEFAULT_CAPABILITIES.tools,
    },
    timeouts: {
      connectMs: b.timeouts?.connectMs ?? DEFAULT_TIMEOUTS.connectMs,
      firstByteMs: b.timeouts?.firstByteMs ?? DEFAULT_TIMEOUTS.firstByteMs,
      idleMs: b.timeouts?.idleMs ?? DEFAULT_TIMEOUTS.idleMs,
      totalMs: b.timeouts?.totalMs ?? DEFAULT_TIMEOUTS.totalMs,
    },
    fallbacks: { to: fallback ? [...fallback.to] : [], on: fallback?.on ? [...fallback.on] : [...ALL_FAILURE_KINDS] },
  };
  if (b.apiVersion !== undefined) out.apiVersion = b.apiVersion;
  if (b.credentialsSecretRef) {
    const ref = { name: b.credentialsSecretRef.name, key: b.credentialsSecretRef.key };
    const header = b.provider === 'azure-openai' ? 'api-key' : 'authorization';
    const sealed = opts.seal?.(ref);
    // Once sealed, the reference stays out of the table: the sidecar never needs to know which Secret it was.
    out.auth = sealed ? { header, sealed } : { header, ref };
  }
  return out;
}

function compileStrategy(s: StrategySpec, backends: BackendSpec[]): TableStrategy {
  if (s.complexity) {
    const tiers = s.complexity.tiers;
    return {
      kind: 'complexity',
      tiers: tiers.map((t, i) => ({
        backend: t.backend,
        upTo: i === tiers.length - 1 ? 1 : (t.upTo ?? 1),
        ...(t.reasoningEffort ? { reasoningEffort: t.reasoningEffort } : {}),
      })),
      ...(s.complexity.targetShare !== undefined ? { targetShare: s.complexity.targetShare } : {}),
    };
  }
  if (s.weighted) return { kind: 'weighted', backends: s.weighted.backends.map((w) => ({ ...w })) };
  if (s.cheapest) {
    return { kind: 'cheapest', backends: s.cheapest.backends ? [...s.cheapest.backends] : backends.map((b) => b.name) };
  }
  if (s.fixed) return { kind: 'fixed', backend: s.fixed.backend };
  throw new Error('unreachable: validateRoute guarantees exactly one strategy');
}
