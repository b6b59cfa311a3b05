/**
 * The CRD against a real kube-apiserver: every example is accepted, every invalid fixture is rejected with the
 * exact message its header states, and `modelroute validate` reaches the same verdict on every file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import type { Kube } from '../../helpers/control-plane.js';
import { validateText } from '../../../cli/commands/validate.js';
import { ROOT, expectation, kubeWithCRD, yamlFiles } from './crd-setup.js';

const NS = 'crd-validation';
const examples = yamlFiles('examples');
const invalid = yamlFiles('test/fixtures/invalid');
let kube: Kube;

beforeAll(async () => {
  kube = await kubeWithCRD(NS);
}, 120_000);

afterAll(async () => {
  await kube?.kubectl(['delete', 'namespace', NS, '--wait=false']);
});

/** Creating (not applying) so a leftover object never hides a rejection; server-side dry run stores nothing. */
async function apiserverVerdict(file: string): Promise<{ accepted: boolean; output: string }> {
  const r = await kube.kubectl(['create', '--dry-run=server', '-n', NS, '-f', file]);
  return { accepted: r.code === 0, output: `${r.stdout}${r.stderr}` };
}

describe('examples', () => {
  it('there are at least six', () => {
    expect(examples.length).toBeGreaterThanOrEqual(6);
  });

  it.each(examples.map((f) => [basename(f), f]))(
    '%s is accepted by server-side apply and by validate',
    async (_n, file) => {
      const r = await kube.kubectl(['apply', '--server-side', '-n', NS, '-f', file]);
      expect(`${r.stdout}${r.stderr}`).toMatch(/serverside-applied/);
      expect(r.code).toBe(0);
      expect(validateText(file, readFileSync(file, 'utf8')).problems).toEqual([]);
    },
  );
});

describe('invalid manifests', () => {
  it('there is at least one per rule (12+)', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(12);
  });

  it.each(invalid.map((f) => [basename(f), f]))('%s is rejected with the stated message, by both', async (_n, file) => {
    const verdict = await apiserverVerdict(file);
    expect(verdict.accepted).toBe(false);
    expect(verdict.output).toContain(expectation(file, 'apiserver'));
    const offline = validateText(file, readFileSync(file, 'utf8')).problems.map((l) =>
      l.split(': ').slice(2).join(': '),
    );
    expect(offline[0]).toBe(expectation(file, 'validate'));
  });

  it('a CEL message is the same text on both sides', async () => {
    const file = invalid.find((f) => f.includes('duplicate-backend-names'))!;
    const verdict = await apiserverVerdict(file);
    expect(verdict.output).toContain(
      'The ModelRoute "duplicate-backend-names" is invalid: spec: Invalid value: backend names must be unique',
    );
    expect(validateText('f.yaml', readFileSync(file, 'utf8')).problems).toEqual([
      'f.yaml: route default/duplicate-backend-names: spec: backend names must be unique',
    ]);
  });
});

describe('modelroute validate (the command)', () => {
  const cli = (files: string[]) =>
    promisify(execFile)('npx', ['tsx', `${ROOT}cli/main.ts`, 'validate', '--quiet', ...files], { cwd: ROOT }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );

  it('exits 0 on every example', async () => {
    expect(await cli(examples)).toEqual({ code: 0, stdout: '' });
  }, 60_000);

  it('exits 1 and names every invalid file, as the apiserver rejects each', async () => {
    const r = await cli(invalid);
    expect(r.code).toBe(1);
    for (const file of invalid) expect(r.stdout).toContain(`${file}: route default/`);
  }, 60_000);
});
