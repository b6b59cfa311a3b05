/**
 * Fuzzes ModelRoute manifests (seeded: FUZZ_SEED replays a run): each example is mutated (a field removed,
 * retyped, pushed out of range, renamed, duplicated, an unknown field added) and judged twice, by
 * `modelroute validate`'s validateRoute and by a real kube-apiserver (server-side dry run, strict field
 * validation). Neither may crash, and both must reach the same verdict.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { validateRoute } from '../../../core/api/validate.js';
import type { Kube } from '../../helpers/control-plane.js';
import { Prng, fuzzSeed, randomJson } from '../../helpers/fuzz.js';
import { kubeWithCRD, yamlFiles } from '../crd/crd-setup.js';

const NS = 'reliability-fuzz-manifests';
const CASES = Number(process.env.FUZZ_MANIFEST_CASES ?? 1500);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 40_000);

let kube: Kube;
let api: CustomObjectsApi;
const examples = yamlFiles('examples').map((f) => ({
  name: basename(f),
  doc: parse(readFileSync(f, 'utf8')) as Record<string, unknown>,
}));

beforeAll(async () => {
  kube = await kubeWithCRD(NS);
  api = kube.kubeConfig.makeApiClient(CustomObjectsApi);
}, 120_000);

afterAll(async () => {
  await kube?.kubectl(['delete', 'namespace', NS, '--wait=false']);
});

type Path = (string | number)[];

/** Every path into the spec (objects and arrays included), so mutations land anywhere. */
function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function parentOf(root: unknown, path: Path): { parent: Record<string | number, unknown>; key: string | number } {
  let cur = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  return { parent: cur, key: path.at(-1)! };
}

const ODD_VALUES: unknown[] = [
  '',
  'UPPER',
  'a b',
  'x'.repeat(300),
  -1,
  0,
  0.5,
  1,
  1.5,
  2 ** 40,
  true,
  null,
  [],
  {},
  ['dup', 'dup'],
  'http://',
  'ftp://x',
  '5xx',
  'hour',
];

function mutate(p: Prng, doc: Record<string, unknown>): { doc: Record<string, unknown>; what: string } {
  const d = structuredClone(doc);
  const spec = d.spec as Record<string, unknown>;
  const n = 1 + (p.chance(0.3) ? p.int(3) : 0);
  const done: string[] = [];
  for (let i = 0; i < n; i++) {
    const all = paths(spec).filter((x) => x.length > 0);
    const path = p.pick(all);
    const { parent, key } = parentOf(spec, path);
    const op = p.pick(['delete', 'odd', 'random', 'duplicate', 'unknown', 'swap-number']);
    switch (op) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        break;
      case 'odd':
        parent[key] = structuredClone(p.pick(ODD_VALUES));
        break;
      case 'random':
        parent[key] = randomJson(p, 2);
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
        else parent[key] = structuredClone(parent[key]);
        break;
      case 'unknown':
        if (parent[key] && typeof parent[key] === 'object' && !Array.isArray(parent[key]))
          (parent[key] as Record<string, unknown>).extraField = 1;
        else parent[key] = { extraField: 1 };
        break;
      default: {
        const v = parent[key];
        parent[key] = typeof v === 'number' ? p.pick([-v, v * 1000, 0, v + 0.5]) : v;
      }
    }
    done.push(`${op} spec.${path.join('.')}`);
  }
  return { doc: d, what: done.join(', ') };
}

async function apiserverAccepts(body: Record<string, unknown>): Promise<{ accepted: boolean; message: string }> {
  try {
    await api.createNamespacedCustomObject({
      group: 'modelroute.dev',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'modelroutes',
      body,
      dryRun: 'All',
      fieldValidation: 'Strict',
    });
    return { accepted: true, message: '' };
  } catch (err) {
    if (err instanceof ApiException && (err.code === 422 || err.code === 400)) {
      const b = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
      return { accepted: false, message: (JSON.parse(b) as { message?: string }).message ?? b };
    }
    throw err;
  }
}

describe('fuzzing manifests', () => {
  test(
    'validateRoute and the apiserver reach the same verdict on mutated examples',
    async () => {
      const seed = fuzzSeed();
      const p = new Prng(seed);
      const mismatches: string[] = [];
      let ran = 0;
      let rejected = 0;
      const started = Date.now();
      for (; ran < CASES && Date.now() - started < BUDGET_MS; ran++) {
        const ex = p.pick(examples);
        const { doc, what } = mutate(p, ex.doc);
        doc.metadata = { name: `fuzz-${ran}`, namespace: NS };
        const offline = validateRoute(doc);
        const online = await apiserverAccepts(doc);
        if (!online.accepted) rejected++;
        if (online.accepted !== (offline.length === 0)) {
          mismatches.push(
            `#${ran} ${ex.name} [${what}]: apiserver ${online.accepted ? 'accepts' : `rejects (${online.message.slice(0, 200)})`}, ` +
              `validate ${
                offline.length === 0
                  ? 'accepts'
                  : `rejects (${offline
                      .map((x) => `${x.field}: ${x.message}`)
                      .join('; ')
                      .slice(0, 200)})`
              }`,
          );
        }
      }
      console.log(
        `fuzz-manifests seed=${seed}: ${ran} mutated manifests in ${Date.now() - started} ms, ${rejected} rejected by the apiserver, ${mismatches.length} verdicts differ`,
      );
      expect(mismatches.slice(0, 15)).toEqual([]);
      expect(ran).toBeGreaterThanOrEqual(Math.min(CASES, 100));
    },
    BUDGET_MS + 50_000,
  );
});
