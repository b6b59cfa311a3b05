/**
 * The messages of the CRD's CEL rules. crd-schema.ts puts them in the CRD and validate.ts reports them offline,
 * so `modelroute validate` and `kubectl apply` tell the user exactly the same thing.
 */
export const MSG = {
  uniqueBackends: 'backend names must be unique',
  oneStrategy: 'strategy must set exactly one of complexity, weighted, cheapest or fixed',
  tierBackendExists: 'every strategy.complexity tier must name a backend in spec.backends',
  weightedBackendExists: 'every strategy.weighted entry must name a backend in spec.backends',
  cheapestBackendExists: 'every strategy.cheapest backend must name a backend in spec.backends',
  fixedBackendExists: 'strategy.fixed.backend must name a backend in spec.backends',
  fallbackBackendExists: 'every fallback backend and target must name a backend in spec.backends',
  uniqueFallbacks: 'each backend may have at most one fallbacks entry',
  fallbackNotSelf: 'a backend must not fall back to itself',
  tiersAscending: 'tier upTo values must be strictly ascending',
  tiersNeedUpTo: 'every tier except the last must set upTo',
  onlyLastTierAtOne: 'only the last tier may have upTo 1',
  targetShareRange: 'targetShare must be greater than 0 and less than 1',
  reasoningEffortNeedsReasoning: 'reasoningEffort needs a tier backend with capabilities.reasoning: true',
  uniqueWeighted: 'each backend may appear only once in strategy.weighted',
  weightPositive: 'weight must be greater than 0',
  baseURLScheme: 'baseURL must be an http:// or https:// URL',
  azureApiVersion: 'azure-openai backends need apiVersion',
  providerCredentials: 'openai and azure-openai backends need credentialsSecretRef',
  budgetPositive: 'budget.limitUSD must be greater than 0',
} as const;

/** The baseURL rule as a regular expression, written so CEL's RE2 `matches` and JavaScript agree. */
export const BASE_URL_PATTERN = '^https?://[^/?# ]+(/[^?# ]*)?$';
/** DNS-label-like names, as Kubernetes users expect for anything referenced by name. */
export const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** HTTP header field names (RFC 9110 token). */
export const HEADER_NAME_PATTERN = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";
