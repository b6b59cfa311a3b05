import { describe, expect, test } from '@jest/globals';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { DENSE_NAMES, type DenseName, extractFeatures, gramText } from '../../../core/classifier/features.js';
import {
  CONTEXT_SCAN_CHARS,
  QUERY_HEAD_CHARS,
  QUERY_TAIL_CHARS,
  viewConversation,
} from '../../../core/classifier/text.js';

const user = (content: unknown) => [{ role: 'user', content }];
const dense = (messages: { role: string; content: unknown }[], name: DenseName): number =>
  extractFeatures(messages).dense[DENSE_NAMES.indexOf(name)] ?? NaN;

describe('token length', () => {
  test.each([
    ['prose', 'Explain why the sky is blue, and why sunsets are red, in two or three sentences for a child.'],
    [
      'math',
      'Janet has 16 eggs; she eats 3 and bakes muffins with 4. She sells the rest at $2 each. How much does she make?',
    ],
    [
      'code',
      'def merge(a, b):\n    out = []\n    while a and b:\n        out.append(a.pop(0) if a[0] < b[0] else b.pop(0))\n    return out + a + b\n',
    ],
  ])('the estimate is within 25%% of exact o200k tokens (%s)', (_, text) => {
    const estimate = Math.expm1(dense(user(text), 'tokens'));
    const exact = encode(text).length;
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.25);
  });

  test('a long turn is extrapolated from its scanned slice', () => {
    const text = 'The quarterly report shows revenue grew 12% while costs fell; explain the drivers. '.repeat(200);
    const estimate = Math.expm1(dense(user(text), 'tokens'));
    const exact = encode(text).length;
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.1);
  });
});

describe('task signals', () => {
  test.each<[string, DenseName]>([
    ['Write a short poem about the sea.', 'cue_creative'],
    ['Implement a python function that reverses a string.', 'cue_code'],
    ['How many apples are left if she eats 3?', 'cue_compute'],
    ['Explain why the proof fails and justify each step.', 'cue_reasoning'],
    ['Answer in exactly 3 bullet points and do not use jargon.', 'cue_constraint'],
    ['Find the derivative of the polynomial.', 'cue_math_term'],
    ['Show that the puzzle has exactly one solution.', 'cue_reasoning'],
    ['Which of the following is NOT a mammal?', 'cue_choice'],
    ['If 3x + 7 = 2x - 5, find x.', 'cue_compute'],
  ])('%s -> %s', (text, name) => {
    expect(dense(user(text), name)).toBeGreaterThan(0);
    expect(dense(user('Hello there, nice weather today.'), name)).toBe(0);
  });

  test('multiple-choice phrasing is not a reasoning cue; English "return" and "while" are not code', () => {
    expect(dense(user('Which of the following is most likely true?'), 'cue_reasoning')).toBe(0);
    expect(dense(user('Pull out the dates and return them as JSON while keeping the order.'), 'cue_code')).toBe(0);
  });

  test('a dollar sign before a digit is currency, not LaTeX', () => {
    expect(dense(user('A pen costs $1.10 and a pad $2.'), 'latex')).toBe(0);
    expect(dense(user('Simplify $x^2 + 2x$ and \\frac{a}{b}.'), 'latex')).toBeCloseTo(Math.log1p(3), 12);
  });

  test('structure: code fences, list items, math symbols', () => {
    const msg = user('Fix this:\n```js\nlet a = b + c;\n```\n- first\n- second\n1. third\nWhy? How?');
    expect(dense(msg, 'code_fence')).toBe(1);
    expect(dense(msg, 'list_items')).toBeCloseTo(Math.log1p(3), 12);
    expect(dense(msg, 'math_symbols')).toBeCloseTo(Math.log1p(2), 12);
    expect(dense(msg, 'code_symbols')).toBeGreaterThan(0);
  });

  test('answer options are counted in the last user turn', () => {
    const q = 'Which of these is NOT a fruit?\nA. apple 1\nB. pear\nC. carrot 22\nD. plum\nAnswer:';
    expect(extractFeatures(user(q)).choices).toBe(4);
    expect(extractFeatures(user('Pick one:\n(a) red\n(b) blue')).choices).toBe(2);
    // A lone "A." line is no multiple-choice question; options in earlier turns do not count.
    expect(extractFeatures(user('Do NOT shout.\nA. Smith wrote this.')).choices).toBe(1);
    const earlier = [{ role: 'user', content: q }, { role: 'assistant', content: 'D' }, ...user('Why?')];
    expect(extractFeatures(earlier).choices).toBe(0);
  });

  test('options past the scanned tail of a long question still make it multiple choice', () => {
    const passage = 'The treaty was signed after a long war. '.repeat(60);
    const options = ['A', 'B', 'C', 'D'].map((l) => `\n${l}. ${'a long answer option about the treaty '.repeat(2)}`);
    const f = extractFeatures(user(passage + 'Which is true?' + options.join('') + '\nAnswer:'));
    expect(f.view.query.length).toBeLessThan(f.view.queryChars);
    expect(f.choices).toBe(4);
  });

  test('grams are case-insensitive and name their words', () => {
    const a = extractFeatures(user('Python code'));
    const grams = Array.from(a.grams);
    expect(grams).toEqual(Array.from(extractFeatures(user('python CODE')).grams));
    expect(grams.map((_, i) => gramText(a, i))).toEqual(['python', 'code', 'python code']);
  });
});

describe('conversations', () => {
  const chat = [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Write a function that sorts a list.' },
    { role: 'assistant', content: 'def sort(xs): return sorted(xs)' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Now make it stable.' },
        { type: 'image_url', image_url: {} },
      ],
    },
  ];

  test('the last user turn is the query; earlier turns are context', () => {
    const v = viewConversation(chat);
    expect(v.query).toBe('Now make it stable.');
    expect(v.context).toContain('def sort(xs)');
    expect(v.context).not.toContain('You are helpful');
    expect(v.userTurns).toBe(2);
    expect(v.hasSystem).toBe(true);
    expect(dense(chat, 'turns')).toBeCloseTo(Math.log(2), 12);
    expect(dense(chat, 'context_tokens')).toBeGreaterThan(0);
  });

  test('context counts at a lower weight than the query', () => {
    const f = extractFeatures(chat);
    const weights = new Set(Array.from(f.gramWeight));
    expect(weights).toEqual(new Set([1, 0.5]));
    expect(dense(chat, 'cue_code')).toBeGreaterThan(0);
  });

  test('empty and role-less input still yields finite features', () => {
    for (const m of [[], [{ role: 'assistant', content: null }], user(42)]) {
      expect(Array.from(extractFeatures(m).dense).every(Number.isFinite)).toBe(true);
    }
  });
});

describe('bounded work', () => {
  test('a 1 MB prompt is scanned through a bounded head and tail', () => {
    const huge = 'word '.repeat(200_000) + 'THE END';
    const f = extractFeatures(user(huge));
    expect(f.view.queryChars).toBe(huge.length);
    expect(f.view.query.length).toBeLessThanOrEqual(QUERY_HEAD_CHARS + QUERY_TAIL_CHARS + 1);
    expect(f.view.query.endsWith('THE END')).toBe(true);
    expect(Math.expm1(f.dense[DENSE_NAMES.indexOf('tokens')] ?? 0)).toBeGreaterThan(150_000);
  });

  test('a conversation of 100,000 messages only looks at the most recent ones', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'hi' }));
    const v = viewConversation(many);
    expect(v.userTurns).toBeLessThanOrEqual(256);
    expect(v.context.length).toBeLessThanOrEqual(CONTEXT_SCAN_CHARS);
  });
});
