/**
 * The latency targets of the benchmark report (bench/lib/external.ts): the 1 ms bounds hold unless the minimal
 * proxy measured in the same run adds 1 ms or more by itself, and then the sidecar is held to 1.5x of it.
 */
import { describe, expect, it } from '@jest/globals';
import { proxyFigures, type ProxyJson } from '../../../bench/lib/external.js';

const pcts = (p99: number) => ({ p50: p99 / 2, p90: p99 / 1.5, p99 });

function report(mode: 'json' | 'stream-ttfb', sidecar: number, minimal: number): ProxyJson {
  return {
    runs: [
      {
        mode,
        rps: 500,
        errors: 0,
        direct: { ...pcts(1), n: 100 },
        sidecar: { ...pcts(1 + sidecar), n: 100 },
        sidecarOverhead: pcts(sidecar),
        minimalOverhead: pcts(minimal),
      },
    ],
    peakRps: { sidecar: 1, minimal: 1 },
    sidecarSelfReported: {},
  };
}

const met = (r: ProxyJson) => proxyFigures(r, false).find((f) => f.target !== undefined)?.met;

describe('proxy latency targets at 500 rps, p99', () => {
  it.each([
    ['json', 0.8, 0.7, true],
    ['json', 0.9, 0.5, false], // under 1 ms but 1.8x the minimal proxy
    ['json', 1.3, 1.05, true], // the floor is above 1 ms: 1.24x of it
    ['json', 1.3, 0.95, false], // over 1 ms while the floor is not
    ['json', 1.8, 1.1, false], // 1.64x of a floor above 1 ms
    ['stream-ttfb', 0.9, 0.4, true],
    ['stream-ttfb', 1.2, 1.0, true],
    ['stream-ttfb', 1.2, 0.9, false],
    ['stream-ttfb', 1.7, 1.1, false],
  ] as const)('%s: sidecar adds %s ms, minimal proxy %s ms -> met %s', (mode, sidecar, minimal, expected) => {
    expect(met(report(mode, sidecar, minimal))).toBe(expected);
  });
});
