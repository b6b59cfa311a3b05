/**
 * The shipped classifier: core/classifier/weights.json (built by `npm run train:router`) behind the
 * `DecideContext.score` contract.
 */
import { type ModelWeights, type ScoreResult, createClassifier } from './model.js';
import type { ChatMessage } from './text.js';
import weights from './weights.json' with { type: 'json' };

export const shippedWeights = weights as unknown as ModelWeights;
export const classifier = createClassifier(shippedWeights);

/** Complexity score in [0,1] (higher: more likely to need the strong model) and its top contributions. */
export function score(messages: readonly ChatMessage[]): ScoreResult {
  return classifier.score(messages);
}
