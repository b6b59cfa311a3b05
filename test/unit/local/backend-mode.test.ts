/**
 * Local mode's rule for calling a backend for real or simulating it, and which route wins each model name:
 * the two things the `modelroute dev` banner promises are predictable.
 */
import { describe, expect, test } from '@jest/globals';
import { compile } from '../../../core/api/compile.js';
import type { BackendSpec, ModelRoute } from '../../../core/api/types.js';
import { modelWinners } from '../../../local/banner.js';
import { backendMode, credentialEnvNames } from '../../../local/credential-env.js';

function backend(spec: Partial<BackendSpec>) {
  const route: ModelRoute = {
    apiVersion: 'modelroute.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name: 'r' },
    spec: {
      match: { models: ['m'] },
      backends: [
        { name: 'b', provider: 'openai-compatible', baseURL: 'http://localhost:11434/v1', model: 'x', ...spec },
      ],
      strategy: { fixed: { backend: 'b' } },
    },
  };
  return compile(route).backends[0]!;
}

const openai = {
  provider: 'openai',
  baseURL: 'https://api.openai.com/v1',
  credentialsSecretRef: { name: 'openai', key: 'apiKey' },
} as const;
const azure = {
  provider: 'azure-openai',
  baseURL: 'https://x.openai.azure.com',
  apiVersion: '2024-10-21',
  credentialsSecretRef: { name: 'azure-openai', key: 'api-key' },
} as const;

describe('backendMode', () => {
  test.each([
    ['no credential, reachable host', {}, {}, false, 'real', 'needs no credential'],
    [
      'no credential, cluster-only host',
      { baseURL: 'http://vllm.models.svc:8000/v1' },
      {},
      false,
      'simulated',
      'vllm.models.svc resolves only inside a cluster',
    ],
    [
      'no credential, FQDN in cluster',
      { baseURL: 'http://vllm.models.svc.cluster.local/v1' },
      {},
      false,
      'simulated',
      'resolves only inside a cluster',
    ],
    ['openai, no key', openai, {}, false, 'simulated', 'no $MODELROUTE_CREDENTIAL_OPENAI_APIKEY or $OPENAI_API_KEY'],
    ['openai, OPENAI_API_KEY', openai, { OPENAI_API_KEY: 'k' }, false, 'real', 'key from $OPENAI_API_KEY'],
    [
      'openai, per-secret variable first',
      openai,
      { OPENAI_API_KEY: 'k', MODELROUTE_CREDENTIAL_OPENAI_APIKEY: 'k2' },
      false,
      'real',
      'key from $MODELROUTE_CREDENTIAL_OPENAI_APIKEY',
    ],
    ['openai, empty variable is missing', openai, { OPENAI_API_KEY: '' }, false, 'simulated', 'no $'],
    [
      'azure, AZURE_OPENAI_API_KEY',
      azure,
      { AZURE_OPENAI_API_KEY: 'k' },
      false,
      'real',
      'key from $AZURE_OPENAI_API_KEY',
    ],
    [
      'azure ignores OPENAI_API_KEY',
      azure,
      { OPENAI_API_KEY: 'k' },
      false,
      'simulated',
      'no $MODELROUTE_CREDENTIAL_AZURE_OPENAI_API_KEY or $AZURE_OPENAI_API_KEY',
    ],
    ['--simulate wins over a key', openai, { OPENAI_API_KEY: 'k' }, true, 'simulated', '--simulate'],
    ['--simulate wins over no credential', {}, {}, true, 'simulated', '--simulate'],
  ] as const)('%s', (_name, spec, env, simulateAll, mode, why) => {
    const m = backendMode(backend(spec), env, simulateAll);
    expect(m.mode).toBe(mode);
    expect(m.why).toContain(why);
  });

  test('compatible providers get no convenience variable', () => {
    expect(credentialEnvNames({ name: 'team-llm', key: 'token' }, 'openai-compatible')).toEqual([
      'MODELROUTE_CREDENTIAL_TEAM_LLM_TOKEN',
    ]);
  });
});

describe('modelWinners', () => {
  const table = (name: string, models: string[], priority = 0, headers: { name: string; value: string }[] = []) =>
    compile({
      apiVersion: 'modelroute.dev/v1alpha1',
      kind: 'ModelRoute',
      metadata: { name },
      spec: {
        match: { models, priority, headers },
        backends: [{ name: 'b', provider: 'openai-compatible', baseURL: 'http://h/v1', model: 'x' }],
        strategy: { fixed: { backend: 'b' } },
      },
    });

  test('priority first, then name; header routes above the catch-all can win; the rest never do', () => {
    const { lines, shadowed } = modelWinners([
      table('zeta', ['auto']),
      table('alpha', ['auto', 'solo']),
      table('high', ['auto'], 5, [{ name: 'x-app', value: 'bot' }]),
      table('low-header', ['auto'], -1, [{ name: 'x-app', value: 'other' }]),
      table('boss', ['big'], 10),
    ]);
    expect(lines).toEqual([
      '  auto with header x-app: bot -> high (priority 5)',
      '  auto -> alpha (priority 0; also listed by zeta (same priority, later by name), low-header (priority -1))',
      '  big -> boss (priority 10)',
      '  solo -> alpha (priority 0)',
    ]);
    expect(shadowed.sort()).toEqual(['low-header', 'zeta']);
  });
});
