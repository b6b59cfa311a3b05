/**
 * Conversations of a given size for the decision benchmarks, built from the router-eval dev prompts when
 * they are there (../shared/router-eval/dev) and from a fixed synthetic text otherwise, so a fresh clone
 * still runs. Many distinct variants per size, so caches keyed on text do not flatter the figures.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Message {
  role: string;
  content: string;
}

export const DEV_DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/router-eval/dev');

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function devTexts(): string[] {
  const texts: string[] = [];
  for (const f of ['mmlu.jsonl', 'gsm8k.jsonl']) {
    const file = path.join(DEV_DATA, f);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as { messages?: { content?: unknown }[] };
      const c = row.messages?.[0]?.content;
      if (typeof c === 'string') texts.push(c);
    }
  }
  return texts;
}

export function conversationSource(): { source: string; make(tokens: number, turns: number): Message[] } {
  let texts = devTexts();
  const source = texts.length > 0 ? `router-eval dev prompts (${texts.length})` : 'synthetic text (no dev set found)';
  if (texts.length === 0) {
    texts = Array.from(
      { length: 200 },
      (_, i) =>
        `Question ${i}: explain step by step why the sum of the first ${i + 3} odd numbers is a square, then give an example.`,
    );
  }
  const rand = rng(7);
  const textOf = (chars: number): string => {
    let s = '';
    while (s.length < chars) s += `${texts[Math.floor(rand() * texts.length)]}\n\n`;
    return s.slice(0, chars);
  };
  /** About `tokens` tokens (4 characters each) over `turns` user turns with assistant turns between. */
  const make = (tokens: number, turns: number): Message[] => {
    const per = Math.floor((tokens * 4) / (turns * 2 - 1));
    const msgs: Message[] = [{ role: 'system', content: 'You are a helpful assistant.' }];
    for (let t = 0; t < turns; t++) {
      msgs.push({ role: 'user', content: textOf(per) });
      if (t < turns - 1) msgs.push({ role: 'assistant', content: textOf(per) });
    }
    return msgs;
  };
  return { source, make };
}
