/**
 * The body sent to one backend: the client's request with `model` rewritten to the backend's, the tier's
 * reasoning effort where it applies, and (for chat/completions streams) `stream_options.include_usage` so
 * the stream reports its own token counts.
 */
import type { ReasoningEffort, TableBackend } from '../core/api/types.js';
import type { ParsedRequest } from './parse-request.js';

export function upstreamBody(p: ParsedRequest, b: TableBackend, effort: ReasoningEffort | undefined): string {
  const body: Record<string, unknown> = { ...p.body, model: b.model };
  if (effort) {
    if (p.endpoint === 'chat' || p.endpoint === 'completions') body.reasoning_effort = effort;
    else if (p.endpoint === 'responses') body.reasoning = { ...asObject(p.body.reasoning), effort };
  }
  if (p.stream && (p.endpoint === 'chat' || p.endpoint === 'completions')) {
    body.stream_options = { ...asObject(p.body.stream_options), include_usage: true };
  }
  return JSON.stringify(body);
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
