import { describe, expect, it } from '@jest/globals';
import { parseInjectionConfig, InjectionConfigError } from '../../../operator/webhook/injection-config.js';
import { mutatePod, type PatchOperation, type PodLike } from '../../../operator/webhook/mutate-pod.js';
import { AdmissionReviewError, reviewPod } from '../../../operator/webhook/admission.js';

const config = parseInjectionConfig({
  image: 'ghcr.io/modelroute/modelroute:0.1.0',
  redisUrl: 'rediss://:$(MODELROUTE_REDIS_PASSWORD)@redis.example:6380/0',
  redisPasswordSecret: { name: 'modelroute-redis', key: 'password' },
  otel: { endpoint: 'http://jaeger-collector.observability:4318', protocol: 'http/protobuf' },
});

/** Minimal RFC 6902 add/replace, enough to check that a patch applies and what it produces. */
function apply(doc: unknown, ops: PatchOperation[]): PodLike {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let parent: unknown = out;
    for (const p of parts) {
      parent = (parent as Record<string, unknown>)[p];
      if (parent === undefined) throw new Error(`path ${op.path} does not exist`);
    }
    if (Array.isArray(parent)) {
      if (last === '-') parent.push(op.value);
      else if (op.op === 'add') parent.splice(Number(last), 0, op.value);
      else parent[Number(last)] = op.value;
    } else {
      if (op.op === 'replace' && !(last in (parent as object))) throw new Error(`replace of missing ${op.path}`);
      (parent as Record<string, unknown>)[last] = op.value;
    }
  }
  return out as PodLike;
}

const pod = (over: Partial<PodLike['spec']> = {}, annotations?: Record<string, string>): PodLike => ({
  metadata: { name: 'app', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'app', image: 'app:1' }], ...over },
});

const envOf = (p: PodLike, container: number) => p.spec!.containers![container]!.env ?? [];
const sidecarOf = (p: PodLike) => p.spec!.initContainers!.find((c) => c.name === 'modelroute-sidecar');

describe('mutatePod', () => {
  it('adds the native sidecar, its volume, OPENAI_BASE_URL and the status annotation', () => {
    const out = apply(pod(), mutatePod(pod(), config));
    const sidecar = sidecarOf(out)!;
    expect(sidecar.restartPolicy).toBe('Always');
    expect(sidecar.image).toBe('ghcr.io/modelroute/modelroute:0.1.0');
    expect(sidecar.args).toEqual(['sidecar', '--listen', '127.0.0.1:15500', '--admin', '0.0.0.0:15501']);
    expect(sidecar.volumeMounts).toEqual([
      { name: 'modelroute-sidecar-tmp', mountPath: '/tmp' },
      { name: 'modelroute-data-key', mountPath: '/var/run/secrets/modelroute.dev/data-key', readOnly: true },
      {
        name: 'modelroute-sidecar-tmp',
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        subPath: 'no-service-account-token',
        readOnly: true,
      },
    ]);
    expect(out.spec!.volumes).toEqual([
      { name: 'modelroute-sidecar-tmp', emptyDir: { sizeLimit: '64Mi' } },
      {
        name: 'modelroute-data-key',
        secret: {
          secretName: 'modelroute-data-key',
          optional: true,
          defaultMode: 0o444,
          items: [{ key: 'key', path: 'key' }],
        },
      },
    ]);
    expect(envOf(out, 0)).toEqual([{ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:15500/v1' }]);
    expect(out.metadata!.annotations).toEqual({ 'modelroute.dev/status': 'injected' });
  });

  it('gives the sidecar its namespace, pod name, Redis, data key and OTel env, password before URL', () => {
    const env = sidecarOf(apply(pod(), mutatePod(pod(), config)))!.env!;
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    expect(byName.POD_NAMESPACE!.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(byName.POD_NAME!.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(byName.MODELROUTE_DATA_KEY_FILE!.value).toBe('/var/run/secrets/modelroute.dev/data-key/key');
    expect(byName.MODELROUTE_STATE_FILE!.value).toBe('/tmp/modelroute-tables.json'); // on the emptyDir
    expect(byName.MODELROUTE_DATA_KEY).toBeUndefined(); // raw key bytes cannot travel in an env var
    // The image's own NODE_OPTIONS (source maps) is kept, the small young generation added (memory target).
    expect(byName.NODE_OPTIONS!.value!.split(' ')).toEqual(['--enable-source-maps', '--max-semi-space-size=2']);
    expect(byName.MODELROUTE_REDIS_PASSWORD!.valueFrom).toEqual({
      secretKeyRef: { name: 'modelroute-redis', key: 'password' },
    });
    expect(byName.OTEL_EXPORTER_OTLP_ENDPOINT!.value).toBe('http://jaeger-collector.observability:4318');
    expect(byName.OTEL_EXPORTER_OTLP_PROTOCOL!.value).toBe('http/protobuf');
    const names = env.map((e) => e.name);
    // Kubernetes expands $(MODELROUTE_REDIS_PASSWORD) only if it is defined earlier in the list.
    expect(names.indexOf('MODELROUTE_REDIS_PASSWORD')).toBeLessThan(names.indexOf('MODELROUTE_REDIS_URL'));
    expect(names.indexOf('POD_NAMESPACE')).toBeLessThan(names.indexOf('OTEL_RESOURCE_ATTRIBUTES'));
  });

  it('without an OTLP endpoint, turns the trace exporter off instead of exporting to localhost', () => {
    const plain = parseInjectionConfig({ image: 'i', redisUrl: 'redis://r:6379' });
    const env = sidecarOf(apply(pod(), mutatePod(pod(), plain)))!.env!;
    expect(env.find((e) => e.name === 'OTEL_TRACES_EXPORTER')?.value).toBe('none');
    expect(env.some((e) => e.name === 'MODELROUTE_REDIS_PASSWORD')).toBe(false);
  });

  it('with a private Redis CA and a Redis Cluster: mounts the CA Secret and tells the sidecar both', () => {
    const tls = parseInjectionConfig({
      image: 'i',
      redisUrl: 'rediss://redis.example:6380',
      redisCaSecret: { name: 'redis-ca', key: 'ca.pem' },
      redisCluster: true,
    });
    const out = apply(pod(), mutatePod(pod(), tls));
    const sidecar = sidecarOf(out)!;
    const env = Object.fromEntries(sidecar.env!.map((e) => [e.name, e.value]));
    expect(env.MODELROUTE_REDIS_CA_FILE).toBe('/var/run/secrets/modelroute.dev/redis-ca/ca.crt');
    expect(env.MODELROUTE_REDIS_CLUSTER).toBe('true');
    expect(sidecar.volumeMounts).toContainEqual({
      name: 'modelroute-redis-ca',
      mountPath: '/var/run/secrets/modelroute.dev/redis-ca',
      readOnly: true,
    });
    expect(out.spec!.volumes).toContainEqual({
      name: 'modelroute-redis-ca',
      secret: { secretName: 'redis-ca', defaultMode: 0o444, items: [{ key: 'ca.pem', path: 'ca.crt' }] },
    });
    // Without them, neither appears.
    const plain = sidecarOf(apply(pod(), mutatePod(pod(), config)))!;
    expect(plain.env!.some((e) => /REDIS_CA_FILE|REDIS_CLUSTER/.test(e.name))).toBe(false);
    expect(plain.volumeMounts).not.toContainEqual(expect.objectContaining({ name: 'modelroute-redis-ca' }));
  });

  it('puts the sidecar first among existing init containers and appends to existing volumes and env', () => {
    const p = pod({
      initContainers: [{ name: 'migrate', image: 'm' }],
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [
        { name: 'a', image: 'a', env: [{ name: 'X', value: '1' }] },
        { name: 'b', image: 'b' },
      ],
    });
    const out = apply(p, mutatePod(p, config));
    expect(out.spec!.initContainers!.map((c) => c.name)).toEqual(['modelroute-sidecar', 'migrate']);
    expect(out.spec!.volumes!.map((v) => v.name)).toEqual(['data', 'modelroute-sidecar-tmp', 'modelroute-data-key']);
    expect(envOf(out, 0).map((e) => e.name)).toEqual(['X', 'OPENAI_BASE_URL']);
    expect(envOf(out, 1).map((e) => e.name)).toEqual(['OPENAI_BASE_URL']);
  });

  it('keeps an OPENAI_BASE_URL the app set', () => {
    const p = pod({
      containers: [{ name: 'a', env: [{ name: 'OPENAI_BASE_URL', value: 'https://api.openai.com/v1' }] }],
    });
    const out = apply(p, mutatePod(p, config));
    expect(envOf(out, 0)).toEqual([{ name: 'OPENAI_BASE_URL', value: 'https://api.openai.com/v1' }]);
  });

  it('replaces the app value when the Pod asks for it, including a valueFrom', () => {
    const p = pod(
      {
        containers: [
          { name: 'a', env: [{ name: 'OPENAI_BASE_URL', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }] },
        ],
      },
      { 'modelroute.dev/override-base-url': 'true' },
    );
    const out = apply(p, mutatePod(p, config));
    expect(envOf(out, 0)).toEqual([{ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:15500/v1' }]);
    expect(out.metadata!.annotations!['modelroute.dev/status']).toBe('injected');
  });

  it('leaves an opted-out Pod alone', () => {
    expect(mutatePod(pod({}, { 'modelroute.dev/inject': 'false' }), config)).toEqual([]);
    for (const value of ['disabled', 'false']) {
      expect(mutatePod({ ...pod(), metadata: { labels: { 'modelroute.dev/inject': value } } }, config)).toEqual([]);
    }
    expect(mutatePod({ ...pod(), metadata: { labels: { 'modelroute.dev/inject': 'enabled' } } }, config)).not.toEqual(
      [],
    );
  });

  it('is idempotent: injecting an injected Pod is a no-op', () => {
    const once = apply(pod(), mutatePod(pod(), config));
    expect(mutatePod(once, config)).toEqual([]);
    const overridden = pod(
      { containers: [{ name: 'a', env: [{ name: 'OPENAI_BASE_URL', value: 'x' }] }] },
      { 'modelroute.dev/override-base-url': 'true' },
    );
    const twice = apply(overridden, mutatePod(overridden, config));
    expect(mutatePod(twice, config)).toEqual([]);
  });

  it('on reinvocation, gives OPENAI_BASE_URL to a container another webhook added, without a second sidecar', () => {
    const once = apply(pod(), mutatePod(pod(), config));
    once.spec!.containers!.push({ name: 'added-later', image: 'x' });
    const ops = mutatePod(once, config);
    expect(ops).toEqual([
      {
        op: 'add',
        path: '/spec/containers/1/env',
        value: [{ name: 'OPENAI_BASE_URL', value: 'http://127.0.0.1:15500/v1' }],
      },
    ]);
  });

  it('escapes the annotation key as a JSON pointer when annotations exist', () => {
    const ops = mutatePod(pod({}, { team: 'a' }), config);
    expect(ops.at(-1)).toEqual({ op: 'add', path: '/metadata/annotations/modelroute.dev~1status', value: 'injected' });
  });
});

describe('parseInjectionConfig', () => {
  it('reports every problem at once, with a stable code', () => {
    let caught: unknown;
    try {
      parseInjectionConfig({
        redisUrl: 'http://x',
        imagePullPolicy: 'Sometimes',
        port: 0,
        logLevel: 'loud',
        imagee: 'typo',
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InjectionConfigError);
    const err = caught as InjectionConfigError;
    expect(err.code).toBe('ERR_INJECTION_CONFIG');
    expect(err.problems).toEqual([
      "unknown key 'imagee'",
      'image: required',
      'redisUrl: must start with redis:// or rediss://',
      'imagePullPolicy: must be Always, IfNotPresent or Never',
      'port: must be a port number',
      'logLevel: must be debug, info, warn or error',
    ]);
  });

  it('refuses a URL that expands a password nobody provides', () => {
    expect(() =>
      parseInjectionConfig({ image: 'i', redisUrl: 'rediss://:$(MODELROUTE_REDIS_PASSWORD)@r:6380' }),
    ).toThrow(/redisPasswordSecret is not set/);
  });

  it('refuses a CA for a plain redis:// URL, a CA Secret without a name, and a non-boolean cluster flag', () => {
    expect(() =>
      parseInjectionConfig({
        image: 'i',
        redisUrl: 'redis://r:6379',
        redisCaSecret: { name: '', key: 'ca.crt' },
        redisCluster: 'yes',
      }),
    ).toThrow(
      /redisCaSecret: needs name and key; redisCaSecret is set but redisUrl is not rediss:\/\/.*; redisCluster: must be true or false/,
    );
  });

  it('freezes the result', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.resources.requests)).toBe(true);
  });
});

describe('reviewPod', () => {
  const review = (object: unknown, operation = 'CREATE') => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation, object },
  });

  it('answers with the uid and a base64 JSONPatch', () => {
    const out = reviewPod(review(pod()), config);
    expect(out.response!.uid).toBe('u-1');
    expect(out.response!.allowed).toBe(true);
    expect(out.response!.patchType).toBe('JSONPatch');
    const ops = JSON.parse(Buffer.from(out.response!.patch!, 'base64').toString()) as PatchOperation[];
    expect(ops).toEqual(mutatePod(pod(), config));
  });

  it('allows without a patch when there is nothing to do or the object is not a Pod create', () => {
    expect(reviewPod(review(pod({}, { 'modelroute.dev/inject': 'false' })), config).response).toEqual({
      uid: 'u-1',
      allowed: true,
    });
    expect(reviewPod(review(pod(), 'UPDATE'), config).response).toEqual({ uid: 'u-1', allowed: true });
  });

  it('rejects a body that is not an AdmissionReview v1 with ERR_ADMISSION_REVIEW', () => {
    expect(() => reviewPod({ kind: 'Pod' }, config)).toThrow(AdmissionReviewError);
    expect(new AdmissionReviewError('x').code).toBe('ERR_ADMISSION_REVIEW');
    expect(() => reviewPod({ ...review(pod()), apiVersion: 'admission.k8s.io/v1beta1' }, config)).toThrow(
      /unsupported/,
    );
  });
});
