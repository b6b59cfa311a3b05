/**
 * The ModelRoute contract shared by the operator and the sidecar.
 *
 * `ModelRouteSpec` is what users write (modelroute.dev/v1alpha1, crds/). `RoutingTable` is what the operator
 * compiles it into and writes to Redis, and what the sidecar routes by: self-contained, versioned by a hash of
 * its content, free of plaintext credentials. Nothing here does I/O.
 */

export const API_GROUP = 'modelroute.dev';
export const API_VERSION = 'v1alpha1';
export const KIND = 'ModelRoute';
export const PLURAL = 'modelroutes';

export type Provider = 'openai' | 'azure-openai' | 'openai-compatible';
export type ReasoningEffort = 'low' | 'medium' | 'high';
/** What makes a call fall back to the next backend. Matches the CRD enum. */
export type FailureKind = 'connect-error' | 'timeout' | '429' | '5xx';
export type BudgetPeriod = 'hour' | 'day' | 'month';
export type BudgetAction = 'downgrade' | 'reject';

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface BackendSpec {
  name: string;
  provider: Provider;
  /** e.g. https://api.openai.com/v1, https://<res>.openai.azure.com, http://vllm:8000/v1 */
  baseURL: string;
  /** Upstream model (for azure-openai: the deployment name). */
  model: string;
  /** azure-openai only: the api-version query parameter. */
  apiVersion?: string;
  credentialsSecretRef?: SecretKeyRef;
  /** USD per million tokens. */
  pricing?: { inputPerMillion: number; outputPerMillion: number };
  capabilities?: { reasoning?: boolean; contextWindow?: number; maxOutputTokens?: number; tools?: boolean };
  timeouts?: { connectMs?: number; firstByteMs?: number; idleMs?: number; totalMs?: number };
}

export interface ComplexityTierSpec {
  backend: string;
  /** Score ceiling in [0,1] for this tier; omitted on the last tier (it takes the rest). */
  upTo?: number;
  reasoningEffort?: ReasoningEffort;
}

export interface StrategySpec {
  complexity?: {
    tiers: ComplexityTierSpec[];
    /** Share of traffic the top tier may take; the threshold below it is calibrated to this (instead of upTo). */
    targetShare?: number;
  };
  weighted?: { backends: { backend: string; weight: number }[] };
  /** The cheapest backend (by pricing) whose capabilities fit the request; `backends` defaults to all. */
  cheapest?: { backends?: string[] };
  fixed?: { backend: string };
}

export interface FallbackSpec {
  backend: string;
  to: string[];
  on?: FailureKind[];
}

export interface ModelRouteSpec {
  match: {
    models: string[];
    headers?: { name: string; value: string }[];
    priority?: number;
  };
  backends: BackendSpec[];
  strategy: StrategySpec;
  fallbacks?: FallbackSpec[];
  retry?: { attempts?: number; backoffMs?: number };
  overrides?: { allowTierHeader?: boolean; allowBackendHeader?: boolean };
  budget?: { limitUSD: number; period: BudgetPeriod; action: BudgetAction };
}

export interface Condition {
  type: 'Accepted' | 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface ModelRouteStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  tableVersion?: string;
  /** Kind of the published table's strategy (complexity, weighted, cheapest, fixed), for `kubectl get`. */
  strategy?: TableStrategy['kind'];
  backends?: number;
  lastPublishTime?: string;
  message?: string;
}

export interface ModelRoute {
  apiVersion: `${typeof API_GROUP}/${typeof API_VERSION}`;
  kind: typeof KIND;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    uid?: string;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  spec: ModelRouteSpec;
  status?: ModelRouteStatus;
}

// ---------------------------------------------------------------------------------------------------------------
// The compiled routing table (schemaVersion 1). Documented as JSON schema in docs/routing-table.schema.json.

export const TABLE_SCHEMA_VERSION = 1;

/**
 * A credential sealed by the operator with its namespace's data key (AES-256-GCM). The IV is synthetic
 * (derived from key and plaintext) so the same secret always seals to the same bytes and the same
 * tableVersion. Only a holder of that namespace's data key can open it.
 */
export interface SealedCredential {
  alg: 'A256GCM';
  keyId: string;
  iv: string; // base64
  tag: string; // base64
  data: string; // base64
}

/** Where a backend's credential goes in the upstream request. */
export interface TableAuth {
  /** `authorization: Bearer <key>` (openai, openai-compatible) or `api-key: <key>` (azure-openai). */
  header: 'authorization' | 'api-key';
  /** Absent: the backend needs no credential. compile() leaves `ref`; the operator seals it into `sealed`. */
  ref?: SecretKeyRef;
  sealed?: SealedCredential;
}

export interface TableBackend {
  name: string;
  provider: Provider;
  /** Base URL without trailing slash; the sidecar appends only the fixed endpoint path (e.g. /chat/completions). */
  baseURL: string;
  model: string;
  /** azure-openai: `?api-version=` to append. */
  apiVersion?: string;
  auth?: TableAuth;
  pricing: { inputPerMillion: number; outputPerMillion: number };
  capabilities: { reasoning: boolean; contextWindow: number; maxOutputTokens: number; tools: boolean };
  timeouts: { connectMs: number; firstByteMs: number; idleMs: number; totalMs: number };
  /** Ordered alternates tried before the first byte reaches the client, and the failures that trigger them. */
  fallbacks: { to: string[]; on: FailureKind[] };
}

export type TableStrategy =
  | {
      kind: 'complexity';
      /** Cheapest first. `upTo` of the last tier is 1. With targetShare, the last boundary is calibrated at run time. */
      tiers: { backend: string; upTo: number; reasoningEffort?: ReasoningEffort }[];
      targetShare?: number;
    }
  | { kind: 'weighted'; backends: { backend: string; weight: number }[] }
  | { kind: 'cheapest'; backends: string[] }
  | { kind: 'fixed'; backend: string };

export interface RoutingTable {
  schemaVersion: typeof TABLE_SCHEMA_VERSION;
  /** Content hash (hex) of everything else in the table: same spec and secrets, same version. */
  tableVersion: string;
  route: { namespace: string; name: string };
  match: { models: string[]; headers: { name: string; value: string }[]; priority: number };
  backends: TableBackend[];
  strategy: TableStrategy;
  retry: { attempts: number; backoffMs: number };
  overrides: { allowTierHeader: boolean; allowBackendHeader: boolean };
  budget?: { limitUSD: number; period: BudgetPeriod; action: BudgetAction };
  /**
   * Where this table came from, for tracing and the table-age metrics. Written by the operator next to the content
   * and left out of the tableVersion hash: the same content published by another reconcile keeps its version.
   */
  provenance?: TableProvenance;
}

/** Which reconcile published a table, and when (never part of the content hash). */
export interface TableProvenance {
  /** W3C trace id (32 hex) of the operator's reconcile span that wrote the table. */
  reconcileTraceId?: string;
  /** Span id (16 hex) of that reconcile span, so a request span can link to it. */
  reconcileSpanId?: string;
  /** metadata.generation of the ModelRoute that was compiled. */
  generation?: number;
  /** When the operator wrote the table to Redis (RFC 3339). */
  publishedAt?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The decision (core/decide.ts): synchronous and pure, the sidecar calls it per request.

export interface RequestFacts {
  endpoint: 'chat' | 'completions' | 'embeddings' | 'responses';
  model: string;
  /** Lower-cased header lookup. */
  header(name: string): string | undefined;
  /** Chat messages as sent (OpenAI shape); for completions/responses, the prompt as one user message. */
  messages: { role: string; content: unknown }[];
  /** Exact or estimated input tokens, for context-window fit. */
  inputTokens: number;
  wantsTools: boolean;
  maxOutputTokens?: number;
}

export interface DecideContext {
  /**
   * Complexity score in [0,1] (core/classifier), with its top features when `explain` is true. Called only by
   * the complexity strategy.
   */
  score(
    messages: RequestFacts['messages'],
    explain?: boolean,
  ): { score: number; top?: { feature: string; weight: number }[] };
  /**
   * Whether this decision should carry the classifier's top features (Decision.top), e.g. because the request
   * is traced. Finding them is a fifth of the classifier's time on long conversations; without it, no.
   */
  explain?(): boolean;
  /** Current calibrated threshold for a targetShare route, if the caller keeps one. */
  threshold?(table: RoutingTable): number | undefined;
  /** Spend so far in the current budget period for this route, USD. */
  spentUSD?(table: RoutingTable): number;
  /** Uniform [0,1), injected so tests are deterministic. */
  random(): number;
}

export interface Decision {
  table: RoutingTable;
  /** Backends to try in order: the chosen one, then its fallbacks. */
  attempts: TableBackend[];
  tier?: number;
  score?: number;
  reasoningEffort?: ReasoningEffort;
  top?: { feature: string; weight: number }[];
  /** Why, in one short line (for the debug header, logs and spans). */
  reason: string;
  budget?: 'ok' | 'downgraded';
}

/** Stable error codes for everything the core rejects; callers branch on `code`. */
export class RouteError extends Error {
  constructor(
    readonly code: 'model_not_found' | 'budget_exceeded' | 'no_backend_fits' | 'override_not_allowed' | 'bad_request',
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
