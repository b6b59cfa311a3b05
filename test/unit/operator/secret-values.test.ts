import { describe, expect, it } from '@jest/globals';
import type { V1Secret } from '@kubernetes/client-node';
import { SecretValues } from '../../../operator/secret-values.js';

/** An apiserver of Secrets in memory, counting GETs, and an informer view that may lag behind it. */
function world() {
  const server = new Map<string, V1Secret>();
  const informer = new Map<string, string>();
  let gets = 0;
  let hold: Promise<void> | undefined;
  const put = (name: string, value: string, rv: string, { seen = true } = {}) => {
    server.set(name, {
      metadata: { name, namespace: 'ns', resourceVersion: rv },
      data: { apiKey: Buffer.from(value).toString('base64') },
    });
    if (seen) informer.set(name, rv);
  };
  const values = new SecretValues({
    get: async (_ns, name) => {
      gets++;
      const answer = server.get(name);
      await hold;
      return answer && structuredClone(answer);
    },
    informerVersion: (_ns, name) => informer.get(name),
  });
  return {
    values,
    put,
    informer,
    gets: () => gets,
    holdGets(p: Promise<void> | undefined) {
      hold = p;
    },
  };
}

describe('SecretValues', () => {
  it('reads a Secret once per resourceVersion the informer reports', async () => {
    const w = world();
    w.put('provider', 'sk-1', '10');
    expect(await w.values.read('ns', 'provider', 'apiKey')).toEqual({ found: true, value: 'sk-1' });
    expect(await w.values.read('ns', 'provider', 'apiKey')).toEqual({ found: true, value: 'sk-1' });
    expect(w.gets()).toBe(1);
    w.put('provider', 'sk-2', '11');
    expect(await w.values.read('ns', 'provider', 'apiKey')).toEqual({ found: true, value: 'sk-2' });
    expect(w.gets()).toBe(2);
  });

  it('reads from the apiserver whatever the informer has not seen', async () => {
    const w = world();
    w.put('provider', 'sk-1', '10', { seen: false });
    expect(await w.values.read('ns', 'provider', 'apiKey')).toEqual({ found: true, value: 'sk-1' });
    expect(await w.values.read('ns', 'provider', 'apiKey')).toEqual({ found: true, value: 'sk-1' });
    expect(w.gets()).toBe(2);
    expect(await w.values.read('ns', 'absent', 'apiKey')).toEqual({ found: false, why: 'secret' });
  });

  it('tells a missing key from a missing Secret', async () => {
    const w = world();
    w.put('provider', 'sk-1', '10');
    expect(await w.values.read('ns', 'provider', 'other')).toEqual({ found: false, why: 'key' });
  });

  it('shares one GET among concurrent reads', async () => {
    const w = world();
    w.put('provider', 'sk-1', '10');
    const reads = await Promise.all(Array.from({ length: 20 }, () => w.values.read('ns', 'provider', 'apiKey')));
    expect(reads.every((r) => r.found && r.value === 'sk-1')).toBe(true);
    expect(w.gets()).toBe(1);
  });

  it('does not hand a GET that raced a change to reads made after forget', async () => {
    const w = world();
    w.put('provider', 'sk-old', '10');
    let release = (): void => {};
    w.holdGets(new Promise((r) => (release = r)));
    const early = w.values.read('ns', 'provider', 'apiKey');
    // The Secret changes while that GET is out; the informer sees it and the operator forgets the Secret.
    w.put('provider', 'sk-new', '11');
    w.values.forget('ns', 'provider');
    const late = w.values.read('ns', 'provider', 'apiKey');
    release();
    expect(await early).toEqual({ found: true, value: 'sk-old' });
    expect(await late).toEqual({ found: true, value: 'sk-new' });
    w.holdGets(undefined);
    expect(await w.values.read('ns', 'provider', 'apiKey')).toEqual({ found: true, value: 'sk-new' });
    expect(w.gets()).toBe(2);
  });

  it('keeps nothing after a failed read', async () => {
    const values = new SecretValues({
      get: async () => {
        throw new Error('apiserver down');
      },
      informerVersion: () => '1',
    });
    await expect(values.read('ns', 'provider', 'apiKey')).rejects.toThrow('apiserver down');
    expect(values.size).toBe(0);
  });
});
