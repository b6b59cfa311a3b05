/**
 * Values compile() fills in when a ModelRoute leaves a field out. Kept in one place so the CRD descriptions,
 * docs/api.md and the compiled table agree.
 */
import type { FailureKind } from './types.js';

export const DEFAULT_TIMEOUTS = { connectMs: 5_000, firstByteMs: 60_000, idleMs: 30_000, totalMs: 300_000 } as const;

export const DEFAULT_CAPABILITIES = {
  reasoning: false,
  contextWindow: 128_000,
  maxOutputTokens: 4_096,
  tools: true,
} as const;

/** `attempts` counts tries per backend including the first, so 1 means "no retry, go straight to the fallback". */
export const DEFAULT_RETRY = { attempts: 1, backoffMs: 250 } as const;

export const DEFAULT_PRIORITY = 0;

export const ALL_FAILURE_KINDS: readonly FailureKind[] = ['connect-error', 'timeout', '429', '5xx'];

/** Output tokens assumed for cost estimates when a request does not set max_tokens. */
export const DEFAULT_OUTPUT_ESTIMATE = 256;

/** Hex characters of the sha256 kept as tableVersion: 80 bits, far beyond collisions between versions of one route. */
export const TABLE_VERSION_HEX_CHARS = 20;
