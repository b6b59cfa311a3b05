import { describe, expect, test } from '@jest/globals';
import { score } from '../../../core/classifier/score.js';
import { EASY_CHAT, HARD_CHAT } from './chat-prompts.js';

/**
 * A sanity check, not a benchmark: the dev data has no open-ended chat, so this guards against a model
 * that ranks well on MMLU and GSM8K but orders chat nonsensically (a greeting above a proof). The prompts
 * are hand-written and never trained on (chat-prompts.ts).
 */
describe('the shipped classifier on hand-written chat', () => {
  const easy = EASY_CHAT.map((m) => score(m).score);
  const hard = HARD_CHAT.map((m) => score(m).score);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

  test('scores the hard prompts above the easy ones on average', () => {
    expect(mean(hard)).toBeGreaterThan(mean(easy) + 0.2);
  });

  test('ranks a hard prompt above an easy one in at least 80% of pairs (AUC)', () => {
    let wins = 0;
    for (const h of hard) for (const e of easy) wins += h > e ? 1 : h === e ? 0.5 : 0;
    expect(wins / (hard.length * easy.length)).toBeGreaterThanOrEqual(0.8);
  });
});
