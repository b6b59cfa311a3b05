/**
 * Seeded generators for fuzz tests: the same seed gives the same cases, so a failure names its seed and case
 * index and can be replayed. Nothing here does I/O.
 */

/** mulberry32: small, fast, good enough to spread cases; not for anything secret. */
export class Prng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** The seed: FUZZ_SEED from the environment to replay, otherwise a fixed one so CI is deterministic. */
export function fuzzSeed(fallback = 0x5eed): number {
  const v = Number(process.env.FUZZ_SEED);
  return Number.isInteger(v) ? v : fallback;
}

const ODD_STRINGS = [
  '',
  ' ',
  'm',
  '\u0000',
  '\ud800',
  '🙂',
  '../../etc/passwd',
  'http://169.254.169.254/latest/meta-data',
  '%2e%2e%2f',
  '\r\nX-Injected: 1',
  '${jndi:ldap://x}',
  '__proto__',
  'constructor',
  'null',
  '1e309',
];

export function randomString(p: Prng, maxLen = 40): string {
  if (p.chance(0.3)) return p.pick(ODD_STRINGS);
  const n = p.int(maxLen);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = p.next();
    s += r < 0.8 ? String.fromCharCode(32 + p.int(95)) : r < 0.95 ? String.fromCharCode(p.int(0x3000)) : '\\';
  }
  return s;
}

const ODD_NUMBERS = [0, -1, 1.5, 2 ** 53 + 1, -(2 ** 31), 1e308, -0, 4294967296];

/** Any JSON value, up to `depth` levels of containers. */
export function randomJson(p: Prng, depth = 4): unknown {
  const r = p.int(depth > 0 ? 8 : 5);
  switch (r) {
    case 0:
      return null;
    case 1:
      return p.chance(0.5);
    case 2:
      return p.chance(0.5) ? p.pick(ODD_NUMBERS) : p.int(1000) - 500;
    case 3:
    case 4:
      return randomString(p);
    case 5:
    case 6: {
      const o: Record<string, unknown> = {};
      const n = p.int(5);
      for (let i = 0; i < n; i++) o[p.chance(0.5) ? p.pick(FIELDS) : randomString(p, 10)] = randomJson(p, depth - 1);
      return o;
    }
    default:
      return Array.from({ length: p.int(4) }, () => randomJson(p, depth - 1));
  }
}

/** Field names the sidecar acts on, so random values land where they matter. */
export const FIELDS = [
  'model',
  'messages',
  'prompt',
  'input',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'max_output_tokens',
  'tools',
  'reasoning_effort',
  'role',
  'content',
  'user',
];

/** A syntactically nested value `depth` levels deep, written as text (JSON.stringify would recurse). */
export function deepNesting(depth: number, open = '[', close = ']'): string {
  return open.repeat(depth) + close.repeat(depth);
}

/** Truncates, flips bits in, or splices bytes into a text; for corrupting stored values and bodies. */
export function corrupt(p: Prng, text: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  switch (p.int(5)) {
    case 0:
      return b.subarray(0, p.int(Math.max(1, b.length)));
    case 1: {
      const c = Buffer.from(b);
      const flips = 1 + p.int(4);
      for (let i = 0; i < flips && c.length > 0; i++) c[p.int(c.length)]! ^= 1 << p.int(8);
      return c;
    }
    case 2: {
      const at = p.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), p.bytes(1 + p.int(8)), b.subarray(at)]);
    }
    case 3: {
      const from = p.int(b.length + 1);
      return Buffer.concat([b.subarray(0, from), b.subarray(Math.min(b.length, from + 1 + p.int(20)))]);
    }
    default: {
      const c = Buffer.from(b);
      const at = p.int(Math.max(1, c.length));
      c[at] = p.pick([0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0xff, 0xc3]);
      return c;
    }
  }
}
