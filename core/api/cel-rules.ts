/**
 * JavaScript twins of the CRD's CEL rules, keyed by their message. Each takes the object the rule is attached to
 * (`self`) and returns false when the apiserver would reject it. They must tolerate malformed input: the
 * structural checks report that, and a twin must not throw on it.
 */
import { BASE_URL_PATTERN, MSG } from './rule-messages.js';

type Obj = Record<string, unknown>;
type Twin = (self: unknown) => boolean;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const field = (v: unknown, k: string): unknown => (isObj(v) ? v[k] : undefined);
// The apiserver prunes null fields before CEL runs, so null counts as absent.
const has = (v: unknown, k: string): boolean => field(v, k) != null;
const baseURL = new RegExp(BASE_URL_PATTERN);

const unique = (values: unknown[]): boolean => new Set(values).size === values.length;
const namesOf = (spec: unknown): Set<unknown> => new Set(asList(field(spec, 'backends')).map((b) => field(b, 'name')));

export const CEL_TWINS: Record<string, Twin> = {
  [MSG.baseURLScheme]: (s) => typeof s === 'string' && baseURL.test(s),
  [MSG.azureApiVersion]: (s) => field(s, 'provider') !== 'azure-openai' || has(s, 'apiVersion'),
  [MSG.providerCredentials]: (s) => field(s, 'provider') === 'openai-compatible' || has(s, 'credentialsSecretRef'),
  [MSG.tiersAscending]: (s) => {
    const ups = asList(field(s, 'tiers'))
      .map((t) => field(t, 'upTo'))
      .filter((u): u is number => typeof u === 'number');
    return ups.every((u, i) => i === 0 || u > ups[i - 1]!);
  },
  [MSG.tiersNeedUpTo]: (s) => {
    const tiers = asList(field(s, 'tiers'));
    return tiers.every((t, i) => i === tiers.length - 1 || has(t, 'upTo'));
  },
  [MSG.onlyLastTierAtOne]: (s) => {
    const tiers = asList(field(s, 'tiers'));
    return tiers.every((t, i) => i === tiers.length - 1 || !(Number(field(t, 'upTo')) >= 1));
  },
  [MSG.targetShareRange]: (s) => {
    const share = field(s, 'targetShare');
    return share === undefined || (typeof share === 'number' && share > 0 && share < 1);
  },
  [MSG.weightPositive]: (s) => Number(field(s, 'weight')) > 0,
  [MSG.uniqueWeighted]: (s) => unique(asList(field(s, 'backends')).map((w) => field(w, 'backend'))),
  [MSG.oneStrategy]: (s) => ['complexity', 'weighted', 'cheapest', 'fixed'].filter((k) => has(s, k)).length === 1,
  [MSG.fallbackNotSelf]: (s) => !asList(field(s, 'to')).includes(field(s, 'backend')),
  [MSG.budgetPositive]: (s) => Number(field(s, 'limitUSD')) > 0,
  [MSG.uniqueBackends]: (s) => unique(asList(field(s, 'backends')).map((b) => field(b, 'name'))),
  [MSG.tierBackendExists]: (s) => {
    const names = namesOf(s);
    return asList(field(field(field(s, 'strategy'), 'complexity'), 'tiers')).every((t) =>
      names.has(field(t, 'backend')),
    );
  },
  [MSG.weightedBackendExists]: (s) => {
    const names = namesOf(s);
    return asList(field(field(field(s, 'strategy'), 'weighted'), 'backends')).every((w) =>
      names.has(field(w, 'backend')),
    );
  },
  [MSG.cheapestBackendExists]: (s) => {
    const names = namesOf(s);
    return asList(field(field(field(s, 'strategy'), 'cheapest'), 'backends')).every((n) => names.has(n));
  },
  [MSG.fixedBackendExists]: (s) => {
    const fixed = field(field(s, 'strategy'), 'fixed');
    return fixed === undefined || namesOf(s).has(field(fixed, 'backend'));
  },
  [MSG.fallbackBackendExists]: (s) => {
    const names = namesOf(s);
    return asList(field(s, 'fallbacks')).every(
      (f) => names.has(field(f, 'backend')) && asList(field(f, 'to')).every((n) => names.has(n)),
    );
  },
  [MSG.uniqueFallbacks]: (s) => unique(asList(field(s, 'fallbacks')).map((f) => field(f, 'backend'))),
  [MSG.reasoningEffortNeedsReasoning]: (s) => {
    const backends = asList(field(s, 'backends'));
    return asList(field(field(field(s, 'strategy'), 'complexity'), 'tiers')).every(
      (t) =>
        !has(t, 'reasoningEffort') ||
        backends.some(
          (b) => field(b, 'name') === field(t, 'backend') && field(field(b, 'capabilities'), 'reasoning') === true,
        ),
    );
  },
};
