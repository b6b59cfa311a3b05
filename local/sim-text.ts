/**
 * What a simulated model says and how many tokens it costs. Answers are deterministic for a given prompt and
 * model (same question, same answer), so a demo or a test can be repeated; token counts use the same o200k
 * tokenizer the sidecar counts with, so usage looks like a real model's.
 */
import { countTokens as bpeCount } from 'gpt-tokenizer';

// User text may contain `<|endoftext|>` and friends; to a model they are plain text, not control tokens.
const PLAIN = { disallowedSpecial: new Set<string>() };

export function tokenCount(text: string): number {
  return text === '' ? 0 : bpeCount(text, PLAIN);
}

/** Text of a message content (string, or OpenAI content parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) => (typeof p === 'object' && p !== null && 'text' in p ? String(p.text) : ''))
      .join('\n');
  }
  return '';
}

/** Prompt tokens as OpenAI bills a chat: every message costs its text plus ~3 framing tokens, the reply 3 more. */
export function chatInputTokens(messages: ReadonlyArray<{ role?: unknown; content?: unknown }>): number {
  let n = 3;
  for (const m of messages) n += 3 + tokenCount(String(m.role ?? '')) + tokenCount(contentText(m.content));
  return n;
}

/** FNV-1a: a stable seed from a string. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const FILLER = [
  'In local mode this answer comes from a simulated model, so no key and no network are needed.',
  'The router scored your prompt, picked a tier and forwarded the call exactly as it would in a cluster.',
  'Look at the x-modelroute-* response headers to see which route, backend and tier took it.',
  'Edit a file under the routes directory and the next call uses the new route, without a restart.',
  'Set OPENAI_API_KEY (or MODELROUTE_CREDENTIAL_<SECRET>_<KEY>) to send this backend real traffic instead.',
  'Token usage is counted with the same tokenizer the sidecar uses, so cost figures are realistic.',
  'Harder prompts tend to get longer answers here, as they would from a real model.',
];

export interface Answer {
  text: string;
  outputTokens: number;
  finishReason: 'stop' | 'length';
}

/**
 * The answer to `prompt`: an opening that names the model, then whole sentences of filler up to a length that
 * grows with the prompt, cut at `maxTokens`.
 */
export function answerFor(o: {
  prompt: string;
  model: string;
  route: string;
  backend: string;
  maxTokens?: number;
}): Answer {
  const seed = hash(`${o.model}\n${o.prompt}`);
  const quoted = o.prompt.replace(/\s+/g, ' ').trim().slice(0, 80);
  const natural = Math.min(400, 24 + (seed % 48) + Math.floor(tokenCount(o.prompt) / 4));
  let text = `Simulated ${o.model} (route ${o.route}, backend ${o.backend}) answering "${quoted}".`;
  for (let i = 0; tokenCount(text) < natural; i++) text += ` ${FILLER[(seed + i) % FILLER.length]}`;
  const n = tokenCount(text);
  if (o.maxTokens === undefined || n <= o.maxTokens) return { text, outputTokens: n, finishReason: 'stop' };
  // Over max_tokens: keep whole words that fit, as a real model stops at the limit with finish_reason 'length'.
  let out = '';
  for (const w of text.split(/(?<= )/)) {
    if (tokenCount(out + w) > o.maxTokens) break;
    out += w;
  }
  return { text: out, outputTokens: tokenCount(out), finishReason: 'length' };
}

/** A deterministic unit vector for a text (same text, same vector), as an embedding model would give. */
export function embeddingOf(text: string, dimensions: number): Float32Array {
  let s = hash(text) || 1;
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    // xorshift32: cheap and stable across platforms.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const x = ((s >>> 0) / 0xffffffff) * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const k = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dimensions; i++) v[i] = v[i]! * k;
  return v;
}
