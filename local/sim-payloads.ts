/**
 * OpenAI response bodies and SSE events for the simulated models, shaped as the real API sends them so the
 * official SDKs (and the sidecar's usage tap) read them unchanged.
 */
import { randomBytes } from 'node:crypto';

export type SimEndpoint = 'chat' | 'completions' | 'embeddings' | 'responses';

export interface SimUsage {
  input: number;
  output: number;
  /** Part of `output` spent thinking (reasoning models). */
  reasoning: number;
}

export const newId = (prefix: string): string => `${prefix}-sim${randomBytes(9).toString('hex')}`;

export function usageJSON(endpoint: SimEndpoint, u: SimUsage): Record<string, unknown> {
  if (endpoint === 'embeddings') return { prompt_tokens: u.input, total_tokens: u.input };
  if (endpoint === 'responses') {
    return {
      input_tokens: u.input,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: u.output,
      output_tokens_details: { reasoning_tokens: u.reasoning },
      total_tokens: u.input + u.output,
    };
  }
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    ...(endpoint === 'chat' && { completion_tokens_details: { reasoning_tokens: u.reasoning } }),
  };
}

export interface Completed {
  id: string;
  model: string;
  text: string;
  finishReason: 'stop' | 'length';
  usage: SimUsage;
}

/** The whole answer as one JSON body (non-streamed chat, completions, responses). */
export function completionBody(endpoint: Exclude<SimEndpoint, 'embeddings'>, c: Completed): unknown {
  const created = Math.floor(Date.now() / 1000);
  if (endpoint === 'chat') {
    return {
      id: c.id,
      object: 'chat.completion',
      created,
      model: c.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: c.text, refusal: null },
          logprobs: null,
          finish_reason: c.finishReason,
        },
      ],
      usage: usageJSON(endpoint, c.usage),
    };
  }
  if (endpoint === 'completions') {
    return {
      id: c.id,
      object: 'text_completion',
      created,
      model: c.model,
      choices: [{ index: 0, text: c.text, logprobs: null, finish_reason: c.finishReason }],
      usage: usageJSON(endpoint, c.usage),
    };
  }
  return responseObject(c, 'completed', created);
}

function responseObject(c: Completed, status: 'in_progress' | 'completed', created: number): Record<string, unknown> {
  const done = status === 'completed';
  return {
    id: c.id,
    object: 'response',
    created_at: created,
    status,
    model: c.model,
    output: done ? [messageItem(c, 'completed')] : [],
    output_text: done ? c.text : '',
    incomplete_details: done && c.finishReason === 'length' ? { reason: 'max_output_tokens' } : null,
    usage: done ? usageJSON('responses', c.usage) : null,
  };
}

function messageItem(c: Completed, status: 'in_progress' | 'completed'): Record<string, unknown> {
  const text = status === 'completed' ? c.text : '';
  return {
    type: 'message',
    id: `msg_${c.id}`,
    status,
    role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', text, annotations: [] }] : [],
  };
}

/** SSE for a streamed answer: `head` before the first token, one event per piece, `tail` after the last. */
export function streamFrames(
  endpoint: Exclude<SimEndpoint, 'embeddings'>,
  c: Completed,
  includeUsage: boolean,
): { head: string[]; piece: (text: string) => string; tail: string[] } {
  const created = Math.floor(Date.now() / 1000);
  const data = (v: unknown) => `data: ${JSON.stringify(v)}\n\n`;
  if (endpoint === 'responses') {
    let seq = 0;
    const ev = (type: string, v: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...v })}\n\n`;
    const item = { item_id: `msg_${c.id}`, output_index: 0, content_index: 0 };
    return {
      head: [
        ev('response.created', { response: responseObject(c, 'in_progress', created) }),
        ev('response.in_progress', { response: responseObject(c, 'in_progress', created) }),
        ev('response.output_item.added', { output_index: 0, item: messageItem(c, 'in_progress') }),
        ev('response.content_part.added', { ...item, part: { type: 'output_text', text: '', annotations: [] } }),
      ],
      piece: (delta) => ev('response.output_text.delta', { ...item, delta, logprobs: [] }),
      tail: [
        ev('response.output_text.done', { ...item, text: c.text, logprobs: [] }),
        ev('response.content_part.done', { ...item, part: { type: 'output_text', text: c.text, annotations: [] } }),
        ev('response.output_item.done', { output_index: 0, item: messageItem(c, 'completed') }),
        ev('response.completed', { response: responseObject(c, 'completed', created) }),
      ],
    };
  }
  const base =
    endpoint === 'chat'
      ? { id: c.id, object: 'chat.completion.chunk', created, model: c.model }
      : { id: c.id, object: 'text_completion', created, model: c.model };
  const choice = (text: string, finish: string | null, first = false) =>
    endpoint === 'chat'
      ? {
          index: 0,
          delta: finish ? {} : { ...(first && { role: 'assistant' }), content: text },
          logprobs: null,
          finish_reason: finish,
        }
      : { index: 0, text, logprobs: null, finish_reason: finish };
  const tail = [data({ ...base, choices: [choice('', c.finishReason)] })];
  if (includeUsage) tail.push(data({ ...base, choices: [], usage: usageJSON(endpoint, c.usage) }));
  tail.push('data: [DONE]\n\n');
  return {
    head: endpoint === 'chat' ? [data({ ...base, choices: [choice('', null, true)] })] : [],
    piece: (text) => data({ ...base, choices: [choice(text, null)] }),
    tail,
  };
}

export function embeddingsBody(model: string, vectors: Float32Array[], base64: boolean, inputTokens: number): unknown {
  return {
    object: 'list',
    model,
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      // The openai SDK asks for base64 (little-endian float32) by default and decodes it itself.
      embedding: base64 ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v),
    })),
    usage: usageJSON('embeddings', { input: inputTokens, output: 0, reasoning: 0 }),
  };
}
