import { describe, expect, test } from '@jest/globals';
import { score } from '../../../core/classifier/score.js';
import type { ChatMessage } from '../../../core/classifier/text.js';
import { CATEGORY_CHAT, EASY_CHAT, HARD_CATEGORIES, HARD_CHAT } from './chat-prompts.js';

/**
 * A sanity check, not a benchmark: the dev data has no open-ended chat, so this guards against a model
 * that ranks well on MMLU and GSM8K but orders chat nonsensically (a greeting above a proof). The prompts
 * are hand-written and never trained on (chat-prompts.ts).
 */
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const scores = (ms: readonly ChatMessage[][]): number[] => ms.map((m) => score(m).score);

/** Share of (hard, easy) pairs ordered hard first, ties counting half. */
function auc(hard: number[], easy: number[]): number {
  let wins = 0;
  for (const h of hard) for (const e of easy) wins += h > e ? 1 : h === e ? 0.5 : 0;
  return wins / (hard.length * easy.length);
}

describe('the shipped classifier on hand-written chat', () => {
  const easy = scores(EASY_CHAT);
  const hard = scores(HARD_CHAT);

  test('scores the hard prompts above the easy ones on average', () => {
    expect(mean(hard)).toBeGreaterThan(mean(easy) + 0.2);
  });

  test('ranks a hard prompt above an easy one in at least 80% of pairs (AUC)', () => {
    expect(auc(hard, easy)).toBeGreaterThanOrEqual(0.8);
  });
});

describe('the shipped classifier on the MT-Bench-style categories', () => {
  const easy = scores(CATEGORY_CHAT.filter((c) => !HARD_CATEGORIES.has(c.category)).map((c) => c.messages));
  const hard = scores(CATEGORY_CHAT.filter((c) => HARD_CATEGORIES.has(c.category)).map((c) => c.messages));

  test('scores math, reasoning, coding and STEM above writing, roleplay, extraction and humanities', () => {
    expect(mean(hard)).toBeGreaterThan(mean(easy) + 0.2);
    expect(auc(hard, easy)).toBeGreaterThanOrEqual(0.8);
  });

  test('orders the whole hand-written set with AUC >= 0.85', () => {
    expect(auc([...scores(HARD_CHAT), ...hard], [...scores(EASY_CHAT), ...easy])).toBeGreaterThanOrEqual(0.85);
  });
});
