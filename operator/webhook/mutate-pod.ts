/**
 * The injector's decision, as a pure function of the Pod and the config: which JSON Patch (RFC 6902)
 * operations turn the Pod into one with the ModelRoute sidecar. No I/O, so every rule is unit-tested.
 */
import {
  DATA_KEY_DIR,
  DATA_KEY_SECRET,
  DATA_KEY_SECRET_KEY,
  DATA_KEY_VOLUME,
  REDIS_CA_DIR,
  REDIS_CA_FILE,
  REDIS_CA_VOLUME,
  INJECT_ANNOTATION,
  INJECT_LABEL,
  OVERRIDE_BASE_URL_ANNOTATION,
  SIDECAR_NAME,
  STATUS_ANNOTATION,
  TMP_VOLUME,
  type InjectionConfig,
} from './injection-config.js';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

interface Container {
  name: string;
  env?: EnvVar[];
  [field: string]: unknown;
}

/** The parts of a Pod the injector reads; everything else passes through untouched. */
export interface PodLike {
  metadata?: { annotations?: Record<string, string>; labels?: Record<string, string>; [field: string]: unknown };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    volumes?: { name: string; [field: string]: unknown }[];
    [field: string]: unknown;
  };
}

export interface PatchOperation {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

export const BASE_URL_ENV = 'OPENAI_BASE_URL';
/**
 * Node options of the injected sidecar. V8 grows the young generation to two 16 MB semi-spaces during start-up
 * and table loading and keeps them: a sidecar with 1,000 routes then sits near 105 MB resident, of which about
 * 16 MB is live heap. 2 MB semi-spaces keep it under 80 MB, for about 9 µs more scavenging per request than
 * the default on this project's benchmark machine (--trace-gc totals over 50,000 requests: 16 MB 300 ms,
 * 4 MB 570 ms, 2 MB 760 ms). The benchmarks (bench/memory.ts, bench/proxy.ts) run the sidecar with these
 * same options.
 */
export const SIDECAR_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=2';
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Returns the patch that injects the sidecar, or [] when the Pod opted out or already has everything
 * (so a second call, or a reinvocation after another webhook, changes nothing). Each part is checked on
 * its own: a container added by a later webhook still gets OPENAI_BASE_URL on reinvocation.
 */
export function mutatePod(pod: PodLike, config: InjectionConfig): PatchOperation[] {
  const annotations = pod.metadata?.annotations ?? {};
  // The webhook's objectSelector already skips opted-out labels; checked again for direct callers.
  const label = pod.metadata?.labels?.[INJECT_LABEL];
  if (annotations[INJECT_ANNOTATION] === 'false' || label === 'disabled' || label === 'false') return [];
  const spec = pod.spec ?? {};
  const ops: PatchOperation[] = [];

  const initContainers = spec.initContainers ?? [];
  if (!initContainers.some((c) => c.name === SIDECAR_NAME)) {
    // First, so that the app's own init containers can already call the router.
    const sidecar = sidecarContainer(config);
    ops.push(
      initContainers.length === 0
        ? { op: 'add', path: '/spec/initContainers', value: [sidecar] }
        : { op: 'add', path: '/spec/initContainers/0', value: sidecar },
    );
  }

  const volumes = spec.volumes ?? [];
  const wanted = [
    { name: TMP_VOLUME, emptyDir: { sizeLimit: '64Mi' } },
    // A file, not a secretKeyRef env var: the key is 32 raw bytes (not valid in an env var), and an
    // optional Secret volume lets the Pod start before the operator has created the key, with the file
    // appearing once it exists.
    {
      name: DATA_KEY_VOLUME,
      secret: {
        secretName: DATA_KEY_SECRET,
        optional: true,
        defaultMode: 0o444,
        items: [{ key: DATA_KEY_SECRET_KEY, path: DATA_KEY_SECRET_KEY }],
      },
    },
    ...(config.redisCaSecret
      ? [
          {
            name: REDIS_CA_VOLUME,
            secret: {
              secretName: config.redisCaSecret.name,
              defaultMode: 0o444,
              items: [{ key: config.redisCaSecret.key, path: REDIS_CA_FILE }],
            },
          },
        ]
      : []),
  ].filter((w) => !volumes.some((v) => v.name === w.name));
  if (wanted.length > 0) {
    if (spec.volumes === undefined) ops.push({ op: 'add', path: '/spec/volumes', value: wanted });
    else for (const volume of wanted) ops.push({ op: 'add', path: '/spec/volumes/-', value: volume });
  }

  const override = config.overrideBaseUrl || annotations[OVERRIDE_BASE_URL_ANNOTATION] === 'true';
  const baseUrl: EnvVar = { name: BASE_URL_ENV, value: `http://127.0.0.1:${config.port}/v1` };
  (spec.containers ?? []).forEach((container, i) => {
    const env = container.env ?? [];
    const at = env.findIndex((e) => e.name === BASE_URL_ENV);
    if (container.env === undefined) {
      ops.push({ op: 'add', path: `/spec/containers/${i}/env`, value: [baseUrl] });
    } else if (at === -1) {
      ops.push({ op: 'add', path: `/spec/containers/${i}/env/-`, value: baseUrl });
    } else if (override && (env[at]?.value !== baseUrl.value || env[at]?.valueFrom !== undefined)) {
      ops.push({ op: 'replace', path: `/spec/containers/${i}/env/${at}`, value: baseUrl });
    }
  });

  if (ops.length > 0 && annotations[STATUS_ANNOTATION] !== 'injected') {
    const status = { [STATUS_ANNOTATION]: 'injected' };
    if (pod.metadata === undefined) ops.push({ op: 'add', path: '/metadata', value: { annotations: status } });
    else if (pod.metadata.annotations === undefined)
      ops.push({ op: 'add', path: '/metadata/annotations', value: status });
    else ops.push({ op: 'add', path: `/metadata/annotations/${escapePointer(STATUS_ANNOTATION)}`, value: 'injected' });
  }
  return ops;
}

/** The native sidecar: an init container with restartPolicy Always runs for the Pod's whole life. */
export function sidecarContainer(config: InjectionConfig): Record<string, unknown> {
  const probe = (path: string, failureThreshold: number) => ({
    httpGet: { path, port: config.adminPort },
    periodSeconds: 5,
    failureThreshold,
  });
  return {
    name: SIDECAR_NAME,
    image: config.image,
    imagePullPolicy: config.imagePullPolicy,
    restartPolicy: 'Always',
    args: ['sidecar', '--listen', `127.0.0.1:${config.port}`, '--admin', `0.0.0.0:${config.adminPort}`],
    env: sidecarEnv(config),
    ports: [{ name: 'mr-metrics', containerPort: config.adminPort, protocol: 'TCP' }],
    resources: config.resources,
    // The kubelet starts the app containers only after this succeeds, so the app's first call finds a
    // loaded routing table.
    startupProbe: probe('/readyz', 60),
    readinessProbe: probe('/readyz', 3),
    livenessProbe: probe('/healthz', 3),
    volumeMounts: [
      { name: TMP_VOLUME, mountPath: '/tmp' },
      { name: DATA_KEY_VOLUME, mountPath: DATA_KEY_DIR, readOnly: true },
      ...(config.redisCaSecret ? [{ name: REDIS_CA_VOLUME, mountPath: REDIS_CA_DIR, readOnly: true }] : []),
      // The sidecar never calls the apiserver. An empty mount here stops the ServiceAccount admission
      // plugin from giving it the Pod's token (it skips containers that already mount this path).
      { name: TMP_VOLUME, mountPath: SERVICE_ACCOUNT_DIR, subPath: 'no-service-account-token', readOnly: true },
    ],
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

function sidecarEnv(config: InjectionConfig): EnvVar[] {
  const env: EnvVar[] = [
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
  // Must precede MODELROUTE_REDIS_URL: Kubernetes expands $(VAR) only from variables defined earlier.
  if (config.redisPasswordSecret !== undefined) {
    env.push({ name: 'MODELROUTE_REDIS_PASSWORD', valueFrom: { secretKeyRef: { ...config.redisPasswordSecret } } });
  }
  env.push(
    { name: 'MODELROUTE_REDIS_URL', value: config.redisUrl },
    ...(config.redisCaSecret ? [{ name: 'MODELROUTE_REDIS_CA_FILE', value: `${REDIS_CA_DIR}/${REDIS_CA_FILE}` }] : []),
    ...(config.redisCluster ? [{ name: 'MODELROUTE_REDIS_CLUSTER', value: 'true' }] : []),
    { name: 'MODELROUTE_DATA_KEY_FILE', value: `${DATA_KEY_DIR}/${DATA_KEY_SECRET_KEY}` },
    // On the Pod's emptyDir, which outlives sidecar restarts: a restarted sidecar serves the last good
    // tables even while Redis is unreachable.
    { name: 'MODELROUTE_STATE_FILE', value: '/tmp/modelroute-tables.json' },
    { name: 'MODELROUTE_LOG_LEVEL', value: config.logLevel },
    { name: 'NODE_OPTIONS', value: SIDECAR_NODE_OPTIONS },
    { name: 'OTEL_SERVICE_NAME', value: SIDECAR_NAME },
    {
      name: 'OTEL_RESOURCE_ATTRIBUTES',
      value: 'k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME)',
    },
  );
  const { endpoint, protocol, sampler, samplerArg } = config.otel;
  if (endpoint !== undefined) env.push({ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: endpoint });
  if (protocol !== undefined) env.push({ name: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: protocol });
  if (sampler !== undefined) env.push({ name: 'OTEL_TRACES_SAMPLER', value: sampler });
  if (samplerArg !== undefined) env.push({ name: 'OTEL_TRACES_SAMPLER_ARG', value: samplerArg });
  if (endpoint === undefined) env.push({ name: 'OTEL_TRACES_EXPORTER', value: 'none' });
  return env;
}

/** RFC 6901: `~` and `/` inside a key are escaped. */
function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
