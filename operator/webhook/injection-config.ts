/**
 * What the injector adds to a Pod, parsed once from the operator's environment (the chart renders it
 * as JSON into MODELROUTE_INJECTION) and then frozen.
 */

/** Namespace or Pod label that opts in: `modelroute.dev/inject=enabled`. */
export const INJECT_LABEL = 'modelroute.dev/inject';
export const INJECT_ENABLED = 'enabled';
/** Pod annotation `modelroute.dev/inject: "false"` opts a Pod out even in a labelled namespace. */
export const INJECT_ANNOTATION = 'modelroute.dev/inject';
/** Pod annotation `modelroute.dev/override-base-url: "true"` replaces an OPENAI_BASE_URL the app set. */
export const OVERRIDE_BASE_URL_ANNOTATION = 'modelroute.dev/override-base-url';
/** Set on every injected Pod so `kubectl get pod -o yaml` shows who changed it. */
export const STATUS_ANNOTATION = 'modelroute.dev/status';

export const SIDECAR_NAME = 'modelroute-sidecar';
export const TMP_VOLUME = 'modelroute-sidecar-tmp';
export const DATA_KEY_VOLUME = 'modelroute-data-key';
export const DATA_KEY_DIR = '/var/run/secrets/modelroute.dev/data-key';
/** The operator creates this Secret (key `key`: 32 raw bytes) in every namespace it serves. */
export const DATA_KEY_SECRET = 'modelroute-data-key';
export const DATA_KEY_SECRET_KEY = 'key';
export const REDIS_CA_VOLUME = 'modelroute-redis-ca';
export const REDIS_CA_DIR = '/var/run/secrets/modelroute.dev/redis-ca';
export const REDIS_CA_FILE = 'ca.crt';

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface ResourceList {
  cpu?: string;
  memory?: string;
  'ephemeral-storage'?: string;
}

export interface InjectionConfig {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  resources: { requests?: ResourceList; limits?: ResourceList };
  /** Sidecar's OpenAI-compatible listener; only ever bound to loopback. */
  port: number;
  /** Sidecar's /healthz /readyz /metrics; bound to 0.0.0.0 so the kubelet can probe it. */
  adminPort: number;
  /**
   * Redis URL for the sidecar. May reference `$(MODELROUTE_REDIS_PASSWORD)`, which Kubernetes expands
   * from `redisPasswordSecret`, so the password never appears in the Pod spec.
   */
  redisUrl: string;
  /** Secret in the Pod's own namespace holding the Redis password (Pods cannot read other namespaces). */
  redisPasswordSecret?: SecretKeyRef;
  /** Secret in the Pod's namespace with the PEM CA of a rediss:// server signed by a private CA. */
  redisCaSecret?: SecretKeyRef;
  /** The Redis URL is a seed node of a Redis Cluster. */
  redisCluster: boolean;
  otel: { endpoint?: string; protocol?: 'grpc' | 'http/protobuf'; sampler?: string; samplerArg?: string };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Replace an OPENAI_BASE_URL the app set, for every Pod (the annotation does it per Pod). */
  overrideBaseUrl: boolean;
}

export class InjectionConfigError extends Error {
  readonly code = 'ERR_INJECTION_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid injection config: ${problems.join('; ')}`);
  }
}

const DEFAULTS: Omit<InjectionConfig, 'image' | 'redisUrl'> = {
  imagePullPolicy: 'IfNotPresent',
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  port: 15500,
  adminPort: 15501,
  otel: {},
  logLevel: 'info',
  overrideBaseUrl: false,
  redisCluster: false,
};

const KNOWN_KEYS = new Set([...Object.keys(DEFAULTS), 'image', 'redisUrl', 'redisPasswordSecret', 'redisCaSecret']);

/** Validates a partial config (from JSON), reporting every problem at once; the result is frozen. */
export function parseInjectionConfig(input: unknown): InjectionConfig {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InjectionConfigError(['must be a JSON object']);
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) if (!KNOWN_KEYS.has(key)) problems.push(`unknown key '${key}'`);
  const config = { ...DEFAULTS, ...raw } as InjectionConfig;

  if (typeof config.image !== 'string' || config.image === '') problems.push('image: required');
  if (typeof config.redisUrl !== 'string' || !/^rediss?:\/\//.test(config.redisUrl)) {
    problems.push('redisUrl: must start with redis:// or rediss://');
  }
  if (!['Always', 'IfNotPresent', 'Never'].includes(config.imagePullPolicy)) {
    problems.push('imagePullPolicy: must be Always, IfNotPresent or Never');
  }
  for (const key of ['port', 'adminPort'] as const) {
    const port = config[key];
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`${key}: must be a port number`);
  }
  if (config.port === config.adminPort) problems.push('port and adminPort must differ');
  if (!['debug', 'info', 'warn', 'error'].includes(config.logLevel)) {
    problems.push('logLevel: must be debug, info, warn or error');
  }
  const secret = config.redisPasswordSecret;
  for (const key of ['redisPasswordSecret', 'redisCaSecret'] as const) {
    const ref = config[key];
    if (ref !== undefined && (typeof ref?.name !== 'string' || typeof ref?.key !== 'string' || ref.name === '')) {
      problems.push(`${key}: needs name and key`);
    }
  }
  if (config.redisCaSecret !== undefined && !config.redisUrl?.startsWith('rediss://')) {
    problems.push('redisCaSecret is set but redisUrl is not rediss:// (the CA is only used for TLS)');
  }
  if (typeof config.redisCluster !== 'boolean') problems.push('redisCluster: must be true or false');
  if (config.redisUrl?.includes('$(MODELROUTE_REDIS_PASSWORD)') && secret === undefined) {
    problems.push('redisUrl references $(MODELROUTE_REDIS_PASSWORD) but redisPasswordSecret is not set');
  }
  if (problems.length > 0) throw new InjectionConfigError(problems);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
