/**
 * The complexity scorer handed to decide(): the shared classifier with its trained weights, loaded once at
 * start (the request path only calls the in-memory model). Weights that do not load do not stop the
 * sidecar: routes with other strategies keep working and complexity routes answer 503 with the reason.
 */
import { readFileSync } from 'node:fs';
import type { DecideContext } from '../core/api/types.js';
import { createClassifier, type ModelWeights } from '../core/classifier/model.js';
import type { ChatMessage } from '../core/classifier/text.js';
import { SidecarError } from './errors.js';

export interface Scorer {
  score: DecideContext['score'];
  /** Quantiles of the training scores: where a targetShare threshold starts before traffic is seen. */
  prior?: readonly number[];
}

export function loadScorer(log: (m: string) => void, weightsPath?: string): Scorer {
  const path = weightsPath ?? new URL('../core/classifier/weights.json', import.meta.url);
  try {
    const weights = JSON.parse(readFileSync(path, 'utf8')) as ModelWeights;
    const classifier = createClassifier(weights);
    return {
      score: (messages, explain) => classifier.score(messages as readonly ChatMessage[], explain),
      prior: weights.prior,
    };
  } catch (err) {
    const reason = `complexity classifier unavailable (${String(path)}): ${(err as Error).message}`;
    log(reason);
    return {
      score: () => {
        throw new SidecarError(503, 'classifier_unavailable', reason, 'api_error');
      },
    };
  }
}
