/**
 * Records the tokens of one answered request: the upstream's own usage when it gave one, otherwise the
 * tokenizer's count of prompt and output (after the answer, never on the hot path).
 */
import type { TableBackend } from '../core/api/types.js';
import type { Call, ForwarderDeps } from './forwarder.js';
import { countTokens, inputTextOf } from './usage-extract.js';

export async function settleUsage(
  deps: ForwarderDeps,
  call: Call,
  b: TableBackend,
  usage: { input: number; output: number } | undefined,
  outputText: () => string,
): Promise<void> {
  try {
    if (usage) return deps.onUsage(call.decision, b, { ...usage, source: 'upstream' });
    const [input, output] = await Promise.all([
      countTokens(inputTextOf(call.parsed.facts.messages)),
      call.parsed.endpoint === 'embeddings' ? Promise.resolve(0) : countTokens(outputText()),
    ]);
    deps.onUsage(call.decision, b, { input, output, source: 'counted' });
  } catch {
    // Counting is best effort; it never fails a request that was answered.
  }
}
