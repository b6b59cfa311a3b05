/**
 * Checks that an untrusted value (read from Redis, or just compiled) is a well-formed RoutingTable whose
 * tableVersion matches its content. The operator runs it before writing and the sidecar before swapping, so a
 * corrupt or half-written table is never routed by. Throws InvalidTableError with the path of the first problem.
 */
import { tableVersionOf } from './compile.js';
import { InvalidTableError } from './errors.js';
import { TABLE_SCHEMA_VERSION, type RoutingTable } from './types.js';

const PROVIDERS = ['openai', 'azure-openai', 'openai-compatible'];
const FAILURES = ['connect-error', 'timeout', '429', '5xx'];
const EFFORTS = ['low', 'medium', 'high'];

type Obj = Record<string, unknown>;

function fail(path: string, detail: string): never {
  throw new InvalidTableError(path, detail);
}
function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Obj;
}
function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be an array');
  return v;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(path, 'must be a non-empty string');
  return v;
}
function num(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a finite number, got ${String(v)}`);
  if (v < min || v > max) fail(path, `must be within [${min}, ${max}], got ${v}`);
  return v;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be a boolean');
  return v;
}
function oneOf(v: unknown, allowed: string[], path: string): string {
  if (typeof v !== 'string' || !allowed.includes(v))
    fail(path, `must be one of ${allowed.join(', ')}, got ${String(v)}`);
  return v;
}

export function validateTable(x: unknown): RoutingTable {
  const t = obj(x, '$');
  if (t.schemaVersion !== TABLE_SCHEMA_VERSION) {
    fail(
      '$.schemaVersion',
      `unsupported schemaVersion ${String(t.schemaVersion)} (this build reads ${TABLE_SCHEMA_VERSION})`,
    );
  }
  const version = str(t.tableVersion, '$.tableVersion');
  const route = obj(t.route, '$.route');
  str(route.namespace, '$.route.namespace');
  str(route.name, '$.route.name');

  const match = obj(t.match, '$.match');
  const models = arr(match.models, '$.match.models');
  if (models.length === 0) fail('$.match.models', 'must name at least one model');
  models.forEach((m, i) => str(m, `$.match.models[${i}]`));
  arr(match.headers, '$.match.headers').forEach((h, i) => {
    const ho = obj(h, `$.match.headers[${i}]`);
    const name = str(ho.name, `$.match.headers[${i}].name`);
    if (name !== name.toLowerCase()) fail(`$.match.headers[${i}].name`, 'must be lower-case');
    if (typeof ho.value !== 'string') fail(`$.match.headers[${i}].value`, 'must be a string');
  });
  num(match.priority, '$.match.priority', -1_000_000, 1_000_000);

  const names = new Set<string>();
  const backends = arr(t.backends, '$.backends');
  if (backends.length === 0) fail('$.backends', 'must have at least one backend');
  backends.forEach((b, i) => {
    const p = `$.backends[${i}]`;
    const name = str(obj(b, p).name, `${p}.name`);
    if (names.has(name)) fail(`${p}.name`, `duplicate backend name '${name}'`);
    names.add(name);
  });
  const known = (v: unknown, path: string): void => {
    if (!names.has(str(v, path))) fail(path, `names no backend of this table: '${String(v)}'`);
  };
  backends.forEach((b, i) => checkBackend(b as Obj, `$.backends[${i}]`, known));

  checkStrategy(obj(t.strategy, '$.strategy'), known);
  const retry = obj(t.retry, '$.retry');
  num(retry.attempts, '$.retry.attempts', 1, 10);
  num(retry.backoffMs, '$.retry.backoffMs', 0, 60_000);
  const overrides = obj(t.overrides, '$.overrides');
  bool(overrides.allowTierHeader, '$.overrides.allowTierHeader');
  bool(overrides.allowBackendHeader, '$.overrides.allowBackendHeader');
  if (t.budget !== undefined) {
    const budget = obj(t.budget, '$.budget');
    num(budget.limitUSD, '$.budget.limitUSD', Number.MIN_VALUE, Number.MAX_VALUE);
    oneOf(budget.period, ['hour', 'day', 'month'], '$.budget.period');
    oneOf(budget.action, ['downgrade', 'reject'], '$.budget.action');
  }
  if (t.provenance !== undefined) checkProvenance(obj(t.provenance, '$.provenance'));
  const expected = tableVersionOf(t as unknown as RoutingTable);
  if (version !== expected) fail('$.tableVersion', `${version} does not match the content (hash ${expected})`);
  return t as unknown as RoutingTable;
}

function checkProvenance(p: Obj): void {
  if (p.reconcileTraceId !== undefined && !/^[0-9a-f]{32}$/.test(String(p.reconcileTraceId)))
    fail('$.provenance.reconcileTraceId', 'must be 32 lower-case hex characters');
  if (p.reconcileSpanId !== undefined && !/^[0-9a-f]{16}$/.test(String(p.reconcileSpanId)))
    fail('$.provenance.reconcileSpanId', 'must be 16 lower-case hex characters');
  if (p.generation !== undefined) num(p.generation, '$.provenance.generation');
  if (p.publishedAt !== undefined && Number.isNaN(Date.parse(str(p.publishedAt, '$.provenance.publishedAt'))))
    fail('$.provenance.publishedAt', 'must be an RFC 3339 time');
}

function checkBackend(b: Obj, p: string, known: (v: unknown, path: string) => void): void {
  const provider = oneOf(b.provider, PROVIDERS, `${p}.provider`);
  const baseURL = str(b.baseURL, `${p}.baseURL`);
  if (!/^https?:\/\/[^/\s]+/.test(baseURL)) fail(`${p}.baseURL`, 'must be an http(s) URL');
  if (baseURL.endsWith('/')) fail(`${p}.baseURL`, 'must not end with a slash');
  str(b.model, `${p}.model`);
  if (provider === 'azure-openai') str(b.apiVersion, `${p}.apiVersion`);
  else if (b.apiVersion !== undefined) str(b.apiVersion, `${p}.apiVersion`);
  if (b.auth !== undefined) {
    const auth = obj(b.auth, `${p}.auth`);
    oneOf(auth.header, ['authorization', 'api-key'], `${p}.auth.header`);
    if (auth.ref === undefined && auth.sealed === undefined) fail(`${p}.auth`, 'needs ref or sealed');
    if (auth.ref !== undefined) {
      str(obj(auth.ref, `${p}.auth.ref`).name, `${p}.auth.ref.name`);
      str((auth.ref as Obj).key, `${p}.auth.ref.key`);
    }
    if (auth.sealed !== undefined) {
      const s = obj(auth.sealed, `${p}.auth.sealed`);
      oneOf(s.alg, ['A256GCM'], `${p}.auth.sealed.alg`);
      for (const k of ['keyId', 'iv', 'tag', 'data']) str(s[k], `${p}.auth.sealed.${k}`);
    }
  }
  const pricing = obj(b.pricing, `${p}.pricing`);
  num(pricing.inputPerMillion, `${p}.pricing.inputPerMillion`, 0, 1e6);
  num(pricing.outputPerMillion, `${p}.pricing.outputPerMillion`, 0, 1e6);
  const caps = obj(b.capabilities, `${p}.capabilities`);
  bool(caps.reasoning, `${p}.capabilities.reasoning`);
  bool(caps.tools, `${p}.capabilities.tools`);
  num(caps.contextWindow, `${p}.capabilities.contextWindow`, 1);
  num(caps.maxOutputTokens, `${p}.capabilities.maxOutputTokens`, 1);
  const timeouts = obj(b.timeouts, `${p}.timeouts`);
  for (const k of ['connectMs', 'firstByteMs', 'idleMs', 'totalMs']) num(timeouts[k], `${p}.timeouts.${k}`, 1);
  const fb = obj(b.fallbacks, `${p}.fallbacks`);
  arr(fb.to, `${p}.fallbacks.to`).forEach((n, i) => {
    known(n, `${p}.fallbacks.to[${i}]`);
    if (n === b.name) fail(`${p}.fallbacks.to[${i}]`, 'a backend cannot fall back to itself');
  });
  arr(fb.on, `${p}.fallbacks.on`).forEach((k, i) => oneOf(k, FAILURES, `${p}.fallbacks.on[${i}]`));
}

function checkStrategy(s: Obj, known: (v: unknown, path: string) => void): void {
  switch (s.kind) {
    case 'complexity': {
      const tiers = arr(s.tiers, '$.strategy.tiers');
      if (tiers.length < 2) fail('$.strategy.tiers', 'needs at least two tiers');
      let prev = -1;
      tiers.forEach((tier, i) => {
        const p = `$.strategy.tiers[${i}]`;
        const to = obj(tier, p);
        known(to.backend, `${p}.backend`);
        const upTo = num(to.upTo, `${p}.upTo`, 0, 1);
        if (upTo <= prev) fail(`${p}.upTo`, `must be greater than the previous tier's (${prev})`);
        prev = upTo;
        if (to.reasoningEffort !== undefined) oneOf(to.reasoningEffort, EFFORTS, `${p}.reasoningEffort`);
      });
      if (prev !== 1) fail(`$.strategy.tiers[${tiers.length - 1}].upTo`, 'the last tier must have upTo 1');
      if (s.targetShare !== undefined) {
        const share = num(s.targetShare, '$.strategy.targetShare', 0, 1);
        if (share === 0 || share === 1) fail('$.strategy.targetShare', 'must be strictly between 0 and 1');
      }
      return;
    }
    case 'weighted': {
      const ws = arr(s.backends, '$.strategy.backends');
      if (ws.length === 0) fail('$.strategy.backends', 'must not be empty');
      ws.forEach((w, i) => {
        const wo = obj(w, `$.strategy.backends[${i}]`);
        known(wo.backend, `$.strategy.backends[${i}].backend`);
        if (num(wo.weight, `$.strategy.backends[${i}].weight`) <= 0) {
          fail(`$.strategy.backends[${i}].weight`, 'must be greater than 0');
        }
      });
      return;
    }
    case 'cheapest': {
      const bs = arr(s.backends, '$.strategy.backends');
      if (bs.length === 0) fail('$.strategy.backends', 'must not be empty');
      bs.forEach((n, i) => known(n, `$.strategy.backends[${i}]`));
      return;
    }
    case 'fixed':
      known(s.backend, '$.strategy.backend');
      return;
    default:
      fail('$.strategy.kind', `unknown strategy kind ${String(s.kind)}`);
  }
}
