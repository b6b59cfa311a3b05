import { describe, expect, test } from '@jest/globals';
import { SseUsageTap } from '../../../sidecar/sse-usage-tap.js';

const chunk = (content: string) =>
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }], usage: null })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 9, completion_tokens: 3 } })}\n\n`;

function run(parts: (string | Buffer)[], strip: boolean, endpoint: 'chat' | 'responses' = 'chat') {
  const tap = new SseUsageTap(endpoint, strip);
  const out: string[] = [];
  for (const part of parts) {
    const sent = tap.take(Buffer.from(part));
    if (sent !== undefined) out.push(sent.toString());
  }
  const rest = tap.finish();
  if (rest !== '') out.push(rest);
  return { tap, text: out.join('') };
}

describe('SseUsageTap', () => {
  test('reads usage and hides the usage-only chunk when the client did not ask', () => {
    const { tap, text } = run([chunk('a'), chunk('b'), usageChunk, 'data: [DONE]\n\n'], true);
    expect(tap.usage).toEqual({ input: 9, output: 3 });
    expect(text).toBe(chunk('a') + chunk('b') + 'data: [DONE]\n\n');
  });

  test('keeps the usage chunk for a client that asked', () => {
    const { tap, text } = run([chunk('a'), usageChunk, 'data: [DONE]\n\n'], false);
    expect(tap.usage).toEqual({ input: 9, output: 3 });
    expect(text).toBe(chunk('a') + usageChunk + 'data: [DONE]\n\n');
  });

  test('events split across reads, and a multi-byte character split across reads, pass through intact', () => {
    const all = Buffer.from(chunk('héllo ✓') + usageChunk + 'data: [DONE]\n\n');
    const parts = Array.from({ length: Math.ceil(all.length / 7) }, (_, i) => all.subarray(i * 7, i * 7 + 7));
    const { tap, text } = run(parts, false);
    expect(text).toBe(all.toString());
    expect(tap.usage).toEqual({ input: 9, output: 3 });
    expect(tap.outputText()).toBe('héllo ✓');
  });

  test('a chunk that completes a character held back from the previous read loses no byte', () => {
    const all = Buffer.from(chunk('é') + chunk('b') + 'data: [DONE]\n\n');
    const cut = all.indexOf(Buffer.from('é')) + 1; // between the two bytes of é
    const { text } = run([all.subarray(0, cut), all.subarray(cut)], true);
    expect(text).toBe(all.toString());
  });

  test('without usage, the output text is available for counting; a torn tail is passed on', () => {
    const { tap, text } = run([chunk('one '), chunk('two'), 'data: {"trunc'], true);
    expect(tap.usage).toBeUndefined();
    expect(tap.outputText()).toBe('one two');
    expect(text.endsWith('data: {"trunc')).toBe(true);
  });

  test('responses streams: usage from response.completed, never stripped', () => {
    const done = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { usage: { input_tokens: 4, output_tokens: 2 } } })}\n\n`;
    const delta = `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', delta: 'hi' })}\n\n`;
    const { tap, text } = run([delta, done], true, 'responses');
    expect(tap.usage).toEqual({ input: 4, output: 2 });
    expect(text).toBe(delta + done);
    expect(tap.outputText()).toBe('hi');
  });
});
