/**
 * Span and metric attribute names. GenAI names follow the OpenTelemetry GenAI semantic conventions
 * (gen_ai.*); everything ModelRoute-specific lives under modelroute.*. docs/observability.md lists them all.
 */
import type { Provider } from '../core/api/types.js';

export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  /** Deprecated in favour of gen_ai.provider.name, still read by many backends: both are set. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  requestStream: 'gen_ai.request.stream',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  tokenType: 'gen_ai.token.type',
} as const;

export const MR = {
  namespace: 'modelroute.namespace',
  route: 'modelroute.route',
  tableVersion: 'modelroute.table.version',
  reconcileTraceId: 'modelroute.table.reconcile_trace_id',
  tableGeneration: 'modelroute.table.generation',
  strategy: 'modelroute.strategy',
  tier: 'modelroute.tier',
  score: 'modelroute.score',
  topFeatures: 'modelroute.top_features',
  reason: 'modelroute.reason',
  budget: 'modelroute.budget',
  backend: 'modelroute.backend',
  attempts: 'modelroute.attempts',
  attempt: 'modelroute.attempt',
  costUSD: 'modelroute.cost_usd',
  tokensSource: 'modelroute.usage.source',
  failure: 'modelroute.failure',
  // operator
  generation: 'modelroute.generation',
  outcome: 'modelroute.reconcile.outcome',
  tableWritten: 'modelroute.table.written',
} as const;

/** Span event names. */
export const EVENTS = {
  fallback: 'modelroute.fallback',
  circuitOpen: 'modelroute.circuit_open',
} as const;

/** gen_ai.operation.name for each OpenAI endpoint the sidecar serves. */
export function operationName(endpoint: 'chat' | 'completions' | 'embeddings' | 'responses'): string {
  switch (endpoint) {
    case 'chat':
    case 'responses':
      return 'chat';
    case 'completions':
      return 'text_completion';
    case 'embeddings':
      return 'embeddings';
  }
}

/** gen_ai.provider.name for a table provider (well-known values where the conventions define one). */
export function providerName(provider: Provider): string {
  switch (provider) {
    case 'openai':
      return 'openai';
    case 'azure-openai':
      return 'azure.ai.openai';
    case 'openai-compatible':
      return 'openai_compatible';
  }
}
