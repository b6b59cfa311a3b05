/**
 * Which backends `modelroute dev` calls for real: those that need no credential and those whose credential is
 * in the environment (MODELROUTE_CREDENTIAL_<SECRET>_<KEY>, or OPENAI_API_KEY / AZURE_OPENAI_API_KEY by
 * provider); the simulator answers for the rest, or for all with --simulate. A real fake upstream on port 0
 * stands in for the provider and records what it receives. Also: flags, exit codes, a taken port.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { removeRoutes, runCli, startDev, tempRoutes } from './dev-process.js';

let upstream: FakeUpstream;
let dir: string;

function route(name: string, backend: string): string {
  return `apiVersion: modelroute.dev/v1alpha1
kind: ModelRoute
metadata:
  name: ${name}
spec:
  match:
    models: [${name}]
  backends:
${backend
  .trim()
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
  strategy:
    fixed: { backend: b }
---
`;
}

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'provider' });
  dir = tempRoutes(false);
  const at = upstream.baseURL;
  writeFileSync(
    join(dir, 'routes.yaml'),
    [
      route('nokey', `- { name: b, provider: openai-compatible, baseURL: "${at}", model: local-llm }`),
      route(
        'withkey',
        `- { name: b, provider: openai-compatible, baseURL: "${at}", model: team-llm, credentialsSecretRef: { name: team-llm, key: token } }`,
      ),
      route(
        'openaikey',
        `- { name: b, provider: openai, baseURL: "${at}", model: gpt-4o-mini, credentialsSecretRef: { name: openai, key: apiKey } }`,
      ),
      route(
        'azurekey',
        `- { name: b, provider: azure-openai, baseURL: "${upstream.url}", model: my-deployment, apiVersion: "2024-10-21", credentialsSecretRef: { name: azure, key: apiKey } }`,
      ),
      route(
        'missing',
        `- { name: b, provider: openai-compatible, baseURL: "${at}", model: other-llm, credentialsSecretRef: { name: other, key: token } }`,
      ),
    ].join(''),
  );
});

afterAll(async () => {
  await upstream?.close();
  removeRoutes(dir);
});

const env = {
  MODELROUTE_CREDENTIAL_TEAM_LLM_TOKEN: 'sk-team',
  OPENAI_API_KEY: 'sk-openai',
  AZURE_OPENAI_API_KEY: 'az-key',
};

describe('real or simulated backends', () => {
  test('no credential needed or credential in the environment: called for real; otherwise simulated', async () => {
    const dev = await startDev({ routes: dir, env });
    try {
      const out = dev.output();
      expect(out).toMatch(/b -> local-llm {2}REAL \(needs no credential\)/);
      expect(out).toMatch(/b -> team-llm {2}REAL \(key from \$MODELROUTE_CREDENTIAL_TEAM_LLM_TOKEN\)/);
      expect(out).toMatch(/b -> gpt-4o-mini {2}REAL \(key from \$OPENAI_API_KEY\)/);
      expect(out).toMatch(/b -> my-deployment {2}REAL \(key from \$AZURE_OPENAI_API_KEY\)/);
      expect(out).toMatch(/b -> other-llm {2}SIMULATED \(no \$MODELROUTE_CREDENTIAL_OTHER_TOKEN\)/);

      const client = new OpenAI({ baseURL: dev.baseURL, apiKey: 'local', maxRetries: 0 });
      const ask = (model: string) =>
        client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      upstream.reset();
      expect((await ask('nokey')).choices[0]!.message.content).toBe('reply from provider to local-llm');
      expect((await ask('withkey')).choices[0]!.message.content).toBe('reply from provider to team-llm');
      expect((await ask('openaikey')).choices[0]!.message.content).toBe('reply from provider to gpt-4o-mini');
      expect((await ask('azurekey')).choices[0]!.message.content).toBe('reply from provider to my-deployment');
      expect((await ask('missing')).choices[0]!.message.content).toMatch(/^Simulated other-llm/);

      const seen = upstream.requests.map((r) => ({
        path: r.url,
        auth: r.headers.authorization,
        apiKey: r.headers['api-key'],
      }));
      expect(seen).toEqual([
        { path: '/v1/chat/completions', auth: undefined, apiKey: undefined },
        { path: '/v1/chat/completions', auth: 'Bearer sk-team', apiKey: undefined },
        { path: '/v1/chat/completions', auth: 'Bearer sk-openai', apiKey: undefined },
        {
          path: '/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21',
          auth: undefined,
          apiKey: 'az-key',
        },
      ]);
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  });

  test('--simulate answers every backend from the simulator, keys or not', async () => {
    const dev = await startDev({ routes: dir, env, args: ['--simulate'] });
    try {
      expect(dev.output()).not.toMatch(/ REAL /);
      const client = new OpenAI({ baseURL: dev.baseURL, apiKey: 'local', maxRetries: 0 });
      upstream.reset();
      for (const model of ['nokey', 'withkey', 'openaikey', 'azurekey']) {
        const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
        expect(r.choices[0]!.message.content).toMatch(/^Simulated /);
      }
      expect(upstream.requests).toHaveLength(0);
    } finally {
      await dev.stop();
    }
  });
});

describe('flags and exit codes', () => {
  test('--help exits 0 and documents the credential variables', async () => {
    const r = await runCli(['dev', '--help']);
    expect(r.code).toBe(0);
    expect(r.output).toContain('MODELROUTE_CREDENTIAL_<N>_<K>');
    expect(r.output).toContain('OPENAI_API_KEY');
  });

  test('bad flags exit 2 with every problem at once', async () => {
    const r = await runCli(['dev', '--listen', 'nowhere', '--routes', join(dir, 'missing-dir'), '--bogus']);
    expect(r.code).toBe(2);
    expect(r.output).toContain('unknown flag --bogus');
    expect(r.output).toContain("--listen must be host:port (e.g. 127.0.0.1:15500), got 'nowhere'");
    expect(r.output).toContain('missing-dir does not exist');
  });

  test('a taken port exits 1 and says how to pick another', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await runCli(['dev', '--routes', dir, '--listen', `127.0.0.1:${port}`, '--admin', 'off']);
      expect(r.code).toBe(1);
      expect(r.output).toContain(`127.0.0.1:${port} is already in use`);
      expect(r.output).toContain('--listen');
    } finally {
      taken.close();
    }
  });
});
