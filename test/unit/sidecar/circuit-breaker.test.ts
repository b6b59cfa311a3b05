import { describe, expect, test } from '@jest/globals';
import { CircuitBreakers, parseRetryAfter } from '../../../sidecar/circuit-breaker.js';

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreakers', () => {
  test('opens after N consecutive failures, half-opens for one probe after the cool-down', () => {
    const c = clock();
    const b = new CircuitBreakers({ failureThreshold: 3, cooldownMs: 500, now: c.now });
    b.failure('k');
    b.failure('k');
    b.success('k'); // resets the run
    b.failure('k');
    b.failure('k');
    expect(b.tryPass('k')).toBe(true);
    b.failure('k');
    expect(b.state('k')).toBe('open');
    expect(b.tryPass('k')).toBe(false);
    c.advance(500);
    expect(b.tryPass('k')).toBe(true); // the probe
    expect(b.tryPass('k')).toBe(false); // only one
    b.failure('k'); // failed probe: open again at once
    expect(b.state('k')).toBe('open');
    c.advance(500);
    expect(b.tryPass('k')).toBe(true);
    b.success('k');
    expect(b.state('k')).toBe('closed');
    expect(b.tryPass('k')).toBe(true);
  });

  test('a probe whose client left frees the half-open slot', () => {
    const c = clock();
    const b = new CircuitBreakers({ failureThreshold: 1, cooldownMs: 100, now: c.now });
    b.failure('k');
    c.advance(100);
    expect(b.tryPass('k')).toBe(true);
    expect(b.tryPass('k')).toBe(false);
    b.release('k');
    expect(b.tryPass('k')).toBe(true);
  });

  test('a Retry-After opens the circuit for that long, capped', () => {
    const c = clock();
    const b = new CircuitBreakers({ failureThreshold: 5, maxRetryAfterMs: 10_000, now: c.now });
    b.failure('k', 2_000);
    expect(b.tryPass('k')).toBe(false);
    expect(b.retryInMs('k')).toBe(2_000);
    c.advance(2_000);
    expect(b.tryPass('k')).toBe(true);
    b.failure('k', 86_400_000);
    expect(b.retryInMs('k')).toBe(10_000);
  });

  test('parseRetryAfter: seconds, HTTP date, garbage', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
