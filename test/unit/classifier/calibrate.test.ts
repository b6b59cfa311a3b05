import { describe, expect, test } from '@jest/globals';
import { ShareCalibrator, priorQuantile } from '../../../core/classifier/calibrate.js';

/** Deterministic uniform [0,1) stream (mulberry32). */
function stream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uniformPrior = Array.from({ length: 101 }, (_, i) => i / 100);

describe('ShareCalibrator', () => {
  test('starts at the prior quantile before any traffic', () => {
    const skewed = Array.from({ length: 101 }, (_, i) => (i / 100) ** 2);
    const c = new ShareCalibrator({ prior: skewed, window: 1000 });
    expect(c.threshold(0.3)).toBeCloseTo(priorQuantile(skewed, 0.7), 2);
    expect(c.threshold(0.3)).toBeCloseTo(0.49, 2);
    expect(c.observed).toBe(0);
  });

  test('a shifted mix moves the threshold so the share above it returns to target', () => {
    const c = new ShareCalibrator({ prior: uniformPrior, window: 2000 });
    const rand = stream(7);
    // Traffic turns much harder than the prior: scores in [0.5, 1).
    const scores = Array.from({ length: 6000 }, () => 0.5 + rand() / 2);
    scores.forEach((s) => c.observe(s));
    const t = c.threshold(0.2);
    expect(t).toBeCloseTo(0.9, 1);
    const recent = scores.slice(-2000);
    expect(recent.filter((s) => s > t).length / recent.length).toBeCloseTo(0.2, 2);
  });

  test('the window forgets: only the last `window` scores count', () => {
    const c = new ShareCalibrator({ prior: uniformPrior, window: 100 });
    for (let i = 0; i < 100; i++) c.observe(0.95);
    for (let i = 0; i < 100; i++) c.observe(0.05);
    expect(c.threshold(0.5)).toBeLessThan(0.06);
  });

  test('share 0 and 1 give the extreme thresholds; bad scores are ignored', () => {
    const c = new ShareCalibrator({ prior: uniformPrior, window: 10 });
    c.observe(Number.NaN);
    expect(c.observed).toBe(0);
    expect(c.threshold(0)).toBe(1);
    expect(c.threshold(1)).toBe(0);
  });

  test('rejects a window or prior it cannot use', () => {
    expect(() => new ShareCalibrator({ prior: uniformPrior, window: 0 })).toThrow(RangeError);
    expect(() => new ShareCalibrator({ prior: [0.5] })).toThrow(RangeError);
  });
});
