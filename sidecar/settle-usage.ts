/**
 * Records the tokens of one answered request: the upstream's own usage when it gave one (synchronously, no
 * promise per request), otherwise the tokenizer's count of prompt and output (after the answer, never on the
 * hot path).
 */
import type { TableBackend } from '../core/api/types.js';
import type { Call, ForwarderDeps } from './forwarder.js';
import { countTokens, inputTextOf } from './usage-extract.js';

export function settleUsage(
  deps: ForwarderDeps,
  call: Call,
  b: TableBackend,
  usage: { input: number; output: number } | undefined,
  outputText: () => string,
): Promise<void> | undefined {
  if (!usage) return countAndRecord(deps, call, b, outputText);
  try {
    deps.onUsage(call.decision, b, { input: usage.input, output: usage.output, source: 'upstream' });
  } catch {
    // Recording never fails a request that was answered.
  }
  return undefined;
}

async function countAndRecord(
  deps: ForwarderDeps,
  call: Call,
  b: TableBackend,
  outputText: () => string,
): Promise<void> {
  try {
    const [input, output] = await Promise.all([
      countTokens(inputTextOf(call.parsed.facts.messages)),
      call.parsed.endpoint === 'embeddings' ? Promise.resolve(0) : countTokens(outputText()),
    ]);
    deps.onUsage(call.decision, b, { input, output, source: 'counted' });
  } catch {
    // Counting is best effort; it never fails a request that was answered.
  }
}
