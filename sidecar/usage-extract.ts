/**
 * Token counts of one answer. The upstream's own `usage` block is the truth; when a backend sends none
 * (some OpenAI-compatible servers, a stream cut short) the text is counted with an exact BPE tokenizer
 * (o200k, loaded on first need so a sidecar that never needs it never pays for it).
 */
import type { RequestFacts } from '../core/api/types.js';
import type { Endpoint } from './parse-request.js';

export interface Tokens {
  input: number;
  output: number;
  /** 'upstream' when taken from the answer's usage block, 'counted' when the tokenizer supplied it. */
  source: 'upstream' | 'counted';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const int = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined);

/** Reads an OpenAI usage block (chat/completions/embeddings shape or responses shape). */
export function usageFrom(u: unknown): Omit<Tokens, 'source'> | undefined {
  if (!isObj(u)) return undefined;
  const input = int(u.prompt_tokens) ?? int(u.input_tokens);
  if (input === undefined) return undefined;
  return { input, output: int(u.completion_tokens) ?? int(u.output_tokens) ?? 0 };
}

/** Text of a non-streamed answer, for counting when it carries no usage. */
export function outputTextOf(endpoint: Endpoint, body: unknown): string {
  if (!isObj(body)) return '';
  if (endpoint === 'responses') {
    const out = Array.isArray(body.output) ? body.output : [];
    return out
      .flatMap((o: unknown) => (isObj(o) && Array.isArray(o.content) ? o.content : []))
      .map((c: unknown) => (isObj(c) && typeof c.text === 'string' ? c.text : ''))
      .join('');
  }
  const choices = Array.isArray(body.choices) ? body.choices : [];
  return choices
    .map((c: unknown) => {
      if (!isObj(c)) return '';
      if (typeof c.text === 'string') return c.text;
      const m = isObj(c.message) ? c.message : isObj(c.delta) ? c.delta : undefined;
      return m && typeof m.content === 'string' ? m.content : '';
    })
    .join('');
}

export function inputTextOf(messages: RequestFacts['messages']): string {
  const parts: string[] = [];
  for (const m of messages) {
    if (typeof m.content === 'string') parts.push(m.content);
    else if (Array.isArray(m.content)) {
      for (const c of m.content) if (isObj(c) && typeof c.text === 'string') parts.push(c.text);
    }
  }
  return parts.join('\n');
}

let tokenizer: Promise<(text: string) => number> | undefined;

export function countTokens(text: string): Promise<number> {
  if (text === '') return Promise.resolve(0);
  tokenizer ??= import('gpt-tokenizer').then((m) => (t: string) => m.countTokens(t));
  return tokenizer.then((count) => count(text));
}
