/** What a user sees with kubectl: the CRD is established, explain reads like documentation, columns render. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kube } from '../../helpers/control-plane.js';
import { ROOT, kubeWithCRD } from './crd-setup.js';

const NS = 'crd-usability';
let kube: Kube;

beforeAll(async () => {
  kube = await kubeWithCRD(NS);
}, 120_000);

afterAll(async () => {
  await kube?.kubectl(['delete', 'namespace', NS, '--wait=false']);
});

describe('the CRD', () => {
  it('is Established and NamesAccepted, with the short name mroute', async () => {
    const r = await kube.kubectl(['get', 'crd', 'modelroutes.modelroute.dev', '-o', 'json']);
    const crd = JSON.parse(r.stdout) as {
      spec: { names: { shortNames: string[] }; scope: string };
      status: { conditions: { type: string; status: string }[] };
    };
    const conditions = Object.fromEntries(crd.status.conditions.map((c) => [c.type, c.status]));
    expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
    expect(crd.spec.names.shortNames).toEqual(['mroute']);
    expect(crd.spec.scope).toBe('Namespaced');
  });

  it('kubectl explain modelroute.spec --recursive lists the fields under the spec description', async () => {
    const r = await kube.kubectl(['explain', 'modelroute.spec', '--recursive']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Which model calls this route serves, the backends it can send them to');
    for (const field of [
      'match',
      'backends',
      'credentialsSecretRef',
      'strategy',
      'complexity',
      'tiers',
      'reasoningEffort',
      'weighted',
      'cheapest',
      'fixed',
      'fallbacks',
      'budget',
      'overrides',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${field}\\s`, 'm'));
    }
  });

  it.each([
    ['modelroute.spec.strategy.complexity.tiers.upTo', 'Highest complexity score (0 to 1) this tier takes'],
    ['modelroute.spec.backends.provider', 'openai-compatible (vLLM, Ollama'],
    ['modelroute.spec.budget.action', 'downgrade (cheapest tier or backend) or reject'],
    ['modelroute.spec.backends.timeouts.totalMs', 'Default 300000'],
  ])('kubectl explain %s documents it', async (path, text) => {
    const r = await kube.kubectl(['explain', path]);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(text);
  });

  it('kubectl get mroute shows Ready, Strategy, Backends, Table version and Age', async () => {
    const created = await kube.kubectl([
      'apply',
      '--server-side',
      '-n',
      NS,
      '-f',
      `${ROOT}examples/two-tier-complexity.yaml`,
    ]);
    expect(created.code).toBe(0);
    const status = {
      status: {
        observedGeneration: 1,
        tableVersion: 'b25c336892e0cccc7a09',
        strategy: 'complexity',
        backends: 2,
        conditions: [
          {
            type: 'Accepted',
            status: 'True',
            reason: 'Valid',
            message: 'spec is valid',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
          {
            type: 'Ready',
            status: 'True',
            reason: 'Published',
            message: 'table published',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    };
    const patched = await kube.kubectl([
      'patch',
      'mroute',
      'chat-auto',
      '-n',
      NS,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    expect(patched.stderr).toBe('');
    const r = await kube.kubectl(['get', 'mroute', '-n', NS]);
    const [header, row] = r.stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STRATEGY', 'BACKENDS', 'TABLE VERSION', 'AGE']);
    expect(row!.split(/\s+/).slice(0, 5)).toEqual(['chat-auto', 'True', 'complexity', '2', 'b25c336892e0cccc7a09']);
  });
});
