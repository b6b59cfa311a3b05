/**
 * Turns a raw body into a validated request and the facts the decision needs. Only the fields the sidecar
 * acts on are checked (model, messages/prompt/input, stream); everything else passes through untouched, so a
 * new OpenAI parameter works without a sidecar release.
 */
import type { RequestFacts } from '../core/api/types.js';
import { SidecarError } from './errors.js';

export type Endpoint = RequestFacts['endpoint'];

export interface ParsedRequest {
  endpoint: Endpoint;
  body: Record<string, unknown>;
  stream: boolean;
  /** The client asked for usage in the stream itself (`stream_options.include_usage`). */
  clientWantsStreamUsage: boolean;
  facts: RequestFacts;
}

const bad = (code: string, message: string) => new SidecarError(400, code, message);

/**
 * Deepest nesting of arrays and objects a body may have. JSON.parse copes with any depth, but the body is
 * serialised again for the upstream, recursively: past some thousands of levels that overflows the stack.
 */
export const MAX_NESTING = 256;

export function parseRequest(
  endpoint: Endpoint,
  raw: Buffer,
  header: (name: string) => string | undefined,
): ParsedRequest {
  if (nestsDeeper(raw, MAX_NESTING))
    throw bad('invalid_body', `request body nests arrays or objects deeper than ${MAX_NESTING} levels`);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw bad('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('invalid_body', 'request body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') throw bad('invalid_model', "'model' must be a non-empty string");
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw bad('invalid_type', "'stream' must be a boolean");
  const stream = b.stream === true && endpoint !== 'embeddings';
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so)))
    throw bad('invalid_type', "'stream_options' must be an object");
  const maxOut = b.max_completion_tokens ?? b.max_tokens ?? b.max_output_tokens;
  if (
    maxOut !== undefined &&
    maxOut !== null &&
    (typeof maxOut !== 'number' || !Number.isInteger(maxOut) || maxOut < 0)
  ) {
    throw bad('invalid_type', "'max_tokens' must be a non-negative integer");
  }
  const messages = messagesOf(endpoint, b);
  const tools = b.tools;
  if (tools !== undefined && tools !== null && !Array.isArray(tools))
    throw bad('invalid_type', "'tools' must be an array");
  return {
    endpoint,
    body: b,
    stream,
    clientWantsStreamUsage: (so as { include_usage?: unknown } | undefined)?.include_usage === true,
    facts: {
      endpoint,
      model: b.model,
      header,
      messages,
      // About 4 bytes a token: only for context-window fit on the hot path. Exact counts come from the
      // upstream's usage, or from the tokenizer after the answer when the upstream gives none.
      inputTokens: Math.ceil(raw.length / 4),
      wantsTools: Array.isArray(tools) && tools.length > 0,
      ...(typeof maxOut === 'number' && { maxOutputTokens: maxOut }),
    },
  };
}

function messagesOf(endpoint: Endpoint, b: Record<string, unknown>): RequestFacts['messages'] {
  switch (endpoint) {
    case 'chat': {
      const m = b.messages;
      if (!Array.isArray(m) || m.length === 0) throw bad('invalid_messages', "'messages' must be a non-empty array");
      for (const [i, msg] of m.entries()) {
        if (typeof msg !== 'object' || msg === null || typeof (msg as { role?: unknown }).role !== 'string') {
          throw bad('invalid_messages', `'messages[${i}]' must be an object with a string 'role'`);
        }
      }
      return m as RequestFacts['messages'];
    }
    case 'completions':
      return [{ role: 'user', content: promptOf(b.prompt, 'prompt') }];
    case 'embeddings':
      return [{ role: 'user', content: promptOf(b.input, 'input') }];
    case 'responses': {
      const input = b.input;
      if (Array.isArray(input))
        return input.filter(
          (x): x is { role: string; content: unknown } => typeof x === 'object' && x !== null && 'role' in x,
        );
      return [{ role: 'user', content: promptOf(input, 'input') }];
    }
  }
}

/** Brackets outside strings, in one pass; strings are skipped natively. Invalid JSON is left to JSON.parse. */
function nestsDeeper(raw: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x22) {
      // To the closing quote: the next one not escaped by an odd run of backslashes.
      for (;;) {
        const j = raw.indexOf(0x22, i + 1);
        if (j === -1) return false;
        let k = j - 1;
        while (raw[k] === 0x5c) k--;
        i = j;
        if ((j - 1 - k) % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function promptOf(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length > 0) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n');
  throw bad('invalid_type', `'${field}' must be a string or a non-empty array`);
}
