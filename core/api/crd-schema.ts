/**
 * The ModelRoute CustomResourceDefinition as data: the single source of crds/modelroute.dev_modelroutes.yaml
 * (a unit test keeps the file in step; `UPDATE_CRD=1` rewrites it) and of the structural checks validate.ts runs
 * offline. CEL rules reference their messages from rule-messages.ts, which validate.ts reports verbatim.
 */
import { DEFAULT_CAPABILITIES, DEFAULT_PRIORITY, DEFAULT_RETRY, DEFAULT_TIMEOUTS } from './defaults.js';
import { BASE_URL_PATTERN, HEADER_NAME_PATTERN, MSG, NAME_PATTERN } from './rule-messages.js';
import { bool, int, list, num, obj, str, type SchemaNode } from './schema-builders.js';
import { API_GROUP, API_VERSION, KIND, PLURAL } from './types.js';

export const LIMITS = {
  backends: 16,
  models: 32,
  headers: 8,
  tiers: 8,
  fallbacks: 16,
  fallbackTargets: 8,
  name: 63,
  model: 256,
  url: 2048,
} as const;

const backendName = (description: string): SchemaNode => str(description, LIMITS.name, { minLength: 1 });

const backend = obj(
  'One upstream model the route can send calls to.',
  {
    name: str('Name of this backend within the route; strategies and fallbacks refer to it.', LIMITS.name, {
      minLength: 1,
      pattern: NAME_PATTERN,
    }),
    provider: str(
      'API dialect of the upstream: openai (api.openai.com), azure-openai (Azure OpenAI deployments, api-key header and api-version), or openai-compatible (vLLM, Ollama, LiteLLM or any server speaking the OpenAI API).',
      32,
      { enum: ['openai', 'azure-openai', 'openai-compatible'] },
    ),
    baseURL: str(
      'Base URL of the API, without the endpoint path, e.g. https://api.openai.com/v1, https://my-resource.openai.azure.com (the resource root: the sidecar adds /openai/deployments/<model>) or http://vllm.models:8000/v1. A trailing slash is ignored.',
      LIMITS.url,
      {
        minLength: 1,
        'x-kubernetes-validations': [{ rule: `self.matches('${BASE_URL_PATTERN}')`, message: MSG.baseURLScheme }],
      },
    ),
    model: str('Model name sent upstream (for azure-openai, the deployment name).', LIMITS.model, { minLength: 1 }),
    apiVersion: str('azure-openai only: the api-version query parameter, e.g. 2024-10-21.', 64, { minLength: 1 }),
    credentialsSecretRef: obj(
      "Secret key, in the route's own namespace, holding the API key. The operator seals it into the routing table; it is never stored in plaintext. Omit for servers that need no key.",
      {
        name: str('Name of the Secret.', 253, { minLength: 1 }),
        key: str('Key within the Secret whose value is the API key.', 253, { minLength: 1 }),
      },
      ['name', 'key'],
    ),
    pricing: obj(
      'Price in USD per million tokens, used for cost accounting, the cheapest strategy and budgets. Defaults to 0 (free, e.g. self-hosted).',
      {
        inputPerMillion: num('USD per million input (prompt) tokens.', 0, 1_000_000),
        outputPerMillion: num('USD per million output (completion) tokens.', 0, 1_000_000),
      },
      ['inputPerMillion', 'outputPerMillion'],
    ),
    capabilities: obj('What the model can take, so requests go only where they fit.', {
      reasoning: bool(
        `Whether the model accepts a reasoning effort (o-series and similar). Default ${DEFAULT_CAPABILITIES.reasoning}.`,
      ),
      contextWindow: int(
        `Context window in tokens (input plus output). Default ${DEFAULT_CAPABILITIES.contextWindow}.`,
        1,
        10_000_000,
      ),
      maxOutputTokens: int(
        `Most output tokens per call. Default ${DEFAULT_CAPABILITIES.maxOutputTokens}.`,
        1,
        10_000_000,
      ),
      tools: bool(`Whether the model supports tool (function) calls. Default ${DEFAULT_CAPABILITIES.tools}.`),
    }),
    timeouts: obj('Deadlines for calls to this backend; on expiry the call fails with a timeout and may fall back.', {
      connectMs: int(`Milliseconds to establish the connection. Default ${DEFAULT_TIMEOUTS.connectMs}.`, 1, 600_000),
      firstByteMs: int(
        `Milliseconds from sending the request to the first response byte. Default ${DEFAULT_TIMEOUTS.firstByteMs}.`,
        1,
        3_600_000,
      ),
      idleMs: int(
        `Longest pause between streamed chunks, in milliseconds. Default ${DEFAULT_TIMEOUTS.idleMs}.`,
        1,
        3_600_000,
      ),
      totalMs: int(`Milliseconds for the whole call. Default ${DEFAULT_TIMEOUTS.totalMs}.`, 1, 3_600_000),
    }),
  },
  ['name', 'provider', 'baseURL', 'model'],
  [
    { rule: "self.provider != 'azure-openai' || has(self.apiVersion)", message: MSG.azureApiVersion },
    {
      rule: "self.provider == 'openai-compatible' || has(self.credentialsSecretRef)",
      message: MSG.providerCredentials,
    },
  ],
);

const tier = obj(
  'One complexity tier: prompts scoring up to `upTo` go to its backend.',
  {
    backend: backendName('Backend serving this tier.'),
    upTo: num(
      'Highest complexity score (0 to 1) this tier takes. Required on every tier but the last, which takes the rest. With targetShare, the upTo of the tier below the top is the starting threshold until calibration.',
      0,
      1,
    ),
    reasoningEffort: str('Reasoning effort sent to a reasoning model for this tier.', 8, {
      enum: ['low', 'medium', 'high'],
    }),
  },
  ['backend'],
);

const strategy = obj(
  'How a backend is chosen for each call. Set exactly one of complexity, weighted, cheapest or fixed.',
  {
    complexity: obj(
      "Score each prompt's complexity in the sidecar and send it to the first tier whose upTo is at least the score.",
      {
        tiers: list('Tiers ordered from cheapest to most capable.', tier, LIMITS.tiers, { minItems: 2 }),
        targetShare: num(
          'Share of traffic (between 0 and 1, exclusive) the top tier should take; the threshold below the top tier is calibrated to it from recent scores instead of using a fixed upTo.',
          0,
          1,
        ),
      },
      ['tiers'],
      [
        {
          rule: 'self.tiers.filter(t, has(t.upTo)).map(t, t.upTo).isSorted() && self.tiers.filter(t, has(t.upTo)).all(t, self.tiers.filter(u, has(u.upTo) && u.upTo == t.upTo).size() == 1)',
          message: MSG.tiersAscending,
        },
        {
          rule: 'self.tiers.filter(t, !has(t.upTo)).size() == 0 || (self.tiers.filter(t, !has(t.upTo)).size() == 1 && !has(self.tiers[size(self.tiers) - 1].upTo))',
          message: MSG.tiersNeedUpTo,
        },
        {
          rule: 'self.tiers.filter(t, has(t.upTo) && t.upTo >= 1.0).size() == 0 || (self.tiers.filter(t, has(t.upTo) && t.upTo >= 1.0).size() == 1 && has(self.tiers[size(self.tiers) - 1].upTo) && self.tiers[size(self.tiers) - 1].upTo >= 1.0)',
          message: MSG.onlyLastTierAtOne,
        },
        {
          rule: '!has(self.targetShare) || (self.targetShare > 0.0 && self.targetShare < 1.0)',
          message: MSG.targetShareRange,
        },
      ],
    ),
    weighted: obj(
      'Split traffic by weight, e.g. 95/5 for a canary.',
      {
        backends: list(
          'Backends and their relative weights.',
          obj(
            'A backend and its weight.',
            {
              backend: backendName('Backend name.'),
              weight: int(
                'Relative weight; a backend gets weight / sum of weights of the calls.',
                undefined,
                1_000_000,
              ),
            },
            ['backend', 'weight'],
            [{ rule: 'self.weight > 0', message: MSG.weightPositive }],
          ),
          LIMITS.backends,
          { minItems: 1 },
        ),
      },
      ['backends'],
      [
        {
          rule: 'self.backends.all(w, self.backends.exists_one(v, v.backend == w.backend))',
          message: MSG.uniqueWeighted,
        },
      ],
    ),
    cheapest: obj(
      'Send each call to the cheapest backend (by pricing) whose capabilities fit it: context length, tools.',
      {
        backends: list(
          'Candidate backends; all backends of the route when omitted.',
          backendName('Backend name.'),
          LIMITS.backends,
          { minItems: 1 },
        ),
      },
    ),
    fixed: obj('Send every call to one backend (fallbacks still apply).', { backend: backendName('Backend name.') }, [
      'backend',
    ]),
  },
  [],
  [
    {
      rule: '(has(self.complexity) ? 1 : 0) + (has(self.weighted) ? 1 : 0) + (has(self.cheapest) ? 1 : 0) + (has(self.fixed) ? 1 : 0) == 1',
      message: MSG.oneStrategy,
    },
  ],
);

const fallback = obj(
  'Alternates for one backend, tried in order while no response byte has reached the client.',
  {
    backend: backendName('Backend whose failures trigger this fallback.'),
    to: list('Backends to try next, in order.', backendName('Backend name.'), LIMITS.fallbackTargets, { minItems: 1 }),
    on: list(
      'Failures that trigger the fallback (connect-error, timeout, 429, 5xx). Default: all of them. Quote the key in YAML ("on":): kubectl reads a bare on: as true.',
      str('A failure kind.', 16, { enum: ['connect-error', 'timeout', '429', '5xx'] }),
      4,
      { minItems: 1 },
    ),
  },
  ['backend', 'to'],
  [{ rule: '!(self.backend in self.to)', message: MSG.fallbackNotSelf }],
);

const refersToBackend = (expr: string): string => `self.backends.exists(b, b.name == ${expr})`;

export const specSchema: SchemaNode = obj(
  'Which model calls this route serves, the backends it can send them to, and how it chooses.',
  {
    match: obj(
      'Which calls this route serves.',
      {
        models: list(
          'Model names an app sends that this route serves, e.g. auto or gpt-4o.',
          str('A model name.', LIMITS.model, { minLength: 1 }),
          LIMITS.models,
          { minItems: 1 },
        ),
        headers: list(
          'Request headers that must all be present with these exact values (names are case-insensitive).',
          obj(
            'A header match.',
            {
              name: str('Header name.', 128, { minLength: 1, pattern: HEADER_NAME_PATTERN }),
              value: str('Exact header value.', 1024),
            },
            ['name', 'value'],
          ),
          LIMITS.headers,
        ),
        priority: int(
          `Among routes matching the same call, the highest priority wins (ties: by namespace/name). Default ${DEFAULT_PRIORITY}.`,
          -1_000_000,
          1_000_000,
        ),
      },
      ['models'],
    ),
    backends: list('Upstream models this route can use.', backend, LIMITS.backends, { minItems: 1 }),
    strategy,
    fallbacks: list('Per-backend fallbacks.', fallback, LIMITS.fallbacks),
    retry: obj('Retries of the same backend before falling back.', {
      attempts: int(`Tries per backend, including the first. Default ${DEFAULT_RETRY.attempts}.`, 1, 10),
      backoffMs: int(`Milliseconds to wait before a retry. Default ${DEFAULT_RETRY.backoffMs}.`, 0, 60_000),
    }),
    overrides: obj('Whether an app may choose per request, by header.', {
      allowTierHeader: bool('Honour x-modelroute-tier (a tier index or backend name). Default false.'),
      allowBackendHeader: bool('Honour x-modelroute-backend (a backend name). Default false.'),
    }),
    budget: obj(
      'A spend limit for the route per period, and what happens past it.',
      {
        limitUSD: num('Spend limit in USD per period.', undefined, 1_000_000_000),
        period: str('Period the limit applies to (calendar, UTC).', 8, { enum: ['hour', 'day', 'month'] }),
        action: str(
          'Past the limit: downgrade (cheapest tier or backend) or reject (HTTP 429, code budget_exceeded).',
          16,
          { enum: ['downgrade', 'reject'] },
        ),
      },
      ['limitUSD', 'period', 'action'],
      [{ rule: 'self.limitUSD > 0.0', message: MSG.budgetPositive }],
    ),
  },
  ['match', 'backends', 'strategy'],
  [
    { rule: 'self.backends.all(b, self.backends.exists_one(c, c.name == b.name))', message: MSG.uniqueBackends },
    {
      rule: `!has(self.strategy.complexity) || self.strategy.complexity.tiers.all(t, ${refersToBackend('t.backend')})`,
      message: MSG.tierBackendExists,
    },
    {
      rule: `!has(self.strategy.weighted) || self.strategy.weighted.backends.all(w, ${refersToBackend('w.backend')})`,
      message: MSG.weightedBackendExists,
    },
    {
      rule: `!has(self.strategy.cheapest) || !has(self.strategy.cheapest.backends) || self.strategy.cheapest.backends.all(n, ${refersToBackend('n')})`,
      message: MSG.cheapestBackendExists,
    },
    {
      rule: `!has(self.strategy.fixed) || ${refersToBackend('self.strategy.fixed.backend')}`,
      message: MSG.fixedBackendExists,
    },
    {
      rule: `!has(self.fallbacks) || self.fallbacks.all(f, ${refersToBackend('f.backend')} && f.to.all(n, ${refersToBackend('n')}))`,
      message: MSG.fallbackBackendExists,
    },
    {
      rule: '!has(self.fallbacks) || self.fallbacks.all(f, self.fallbacks.exists_one(g, g.backend == f.backend))',
      message: MSG.uniqueFallbacks,
    },
    {
      rule: '!has(self.strategy.complexity) || self.strategy.complexity.tiers.all(t, !has(t.reasoningEffort) || self.backends.exists(b, b.name == t.backend && has(b.capabilities) && has(b.capabilities.reasoning) && b.capabilities.reasoning))',
      message: MSG.reasoningEffortNeedsReasoning,
    },
  ],
);

const condition = obj(
  'A condition of the route.',
  {
    type: str('Accepted (the spec is valid) or Ready (the routing table is published).', 32),
    status: str('True, False or Unknown.', 8, { enum: ['True', 'False', 'Unknown'] }),
    reason: str('Machine-readable reason in PascalCase.', 128),
    message: str('Human-readable detail.', 4096),
    observedGeneration: int('Generation of the spec this condition describes.', 0, Number.MAX_SAFE_INTEGER),
    lastTransitionTime: str('When the status last changed.', 64, { format: 'date-time' }),
  },
  ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
);

export const statusSchema: SchemaNode = obj('Observed state, written by the operator.', {
  observedGeneration: int('Generation of the spec last reconciled.', 0, Number.MAX_SAFE_INTEGER),
  conditions: list('Accepted and Ready.', condition, 8, {
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  }),
  tableVersion: str('Content hash of the published routing table.', 64),
  strategy: str('Kind of strategy in the published table (for kubectl get).', 16),
  backends: int('Number of backends in the published table.', 0, 1000),
  lastPublishTime: str('When the table was last written to Redis.', 64, { format: 'date-time' }),
  message: str('A one-line summary for humans.', 4096),
});

export const modelRouteCRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${PLURAL}.${API_GROUP}` },
  spec: {
    group: API_GROUP,
    names: {
      kind: KIND,
      listKind: `${KIND}List`,
      plural: PLURAL,
      singular: 'modelroute',
      shortNames: ['mroute'],
      categories: ['modelroute'],
    },
    scope: 'Namespaced',
    versions: [
      {
        name: API_VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          { name: 'Strategy', type: 'string', jsonPath: '.status.strategy' },
          { name: 'Backends', type: 'integer', jsonPath: '.status.backends' },
          { name: 'Table version', type: 'string', jsonPath: '.status.tableVersion' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description:
              "ModelRoute routes an app's OpenAI-compatible model calls to one of several backends: by prompt complexity, by weight, by price, or to a fixed backend, with fallbacks and a budget. The operator compiles it into a routing table that the sidecar in each app pod routes by.",
            properties: {
              apiVersion: { type: 'string', description: 'APIVersion of this object: modelroute.dev/v1alpha1.' },
              kind: { type: 'string', description: 'Kind of this object: ModelRoute.' },
              metadata: { type: 'object' },
              spec: specSchema,
              status: statusSchema,
            },
            required: ['spec'],
          },
        },
      },
    ],
  },
} as const;
