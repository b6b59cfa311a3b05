import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { run, validateText } from '../../../cli/commands/validate.js';
import { validateRoute } from '../../../core/api/validate.js';
import { backend, route } from './routes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(`${root}${dir}`)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `${dir}/${f}`);

describe('validateRoute', () => {
  it.each(files('examples'))('accepts %s', (file) => {
    expect(validateRoute(parse(readFileSync(`${root}${file}`, 'utf8'), { version: '1.1' }))).toEqual([]);
  });

  // The same fixtures run against the apiserver in test/integration/crd; here only the offline half.
  it.each(files('test/fixtures/invalid'))('rejects %s, first with the problem its header states', (file) => {
    const text = readFileSync(`${root}${file}`, 'utf8');
    const stated = /^# validate: (.*)$/m.exec(text)![1];
    const problems = validateRoute(parse(text, { version: '1.1' })).map((p) => `${p.field}: ${p.message}`);
    expect(problems[0]).toBe(stated);
  });

  it.each([
    ['not an object', 'route', [{ field: '<root>', message: 'a ModelRoute must be a YAML/JSON object' }]],
    [
      'wrong apiVersion and kind',
      { ...route(), apiVersion: 'modelroute.dev/v1', kind: 'Route' },
      [
        { field: 'apiVersion', message: 'must be modelroute.dev/v1alpha1, got "modelroute.dev/v1"' },
        { field: 'kind', message: 'must be ModelRoute, got "Route"' },
      ],
    ],
    ['no spec', { ...route(), spec: undefined }, [{ field: 'spec', message: 'Required value' }]],
    [
      'wrong type',
      route({ match: { models: ['auto'], priority: 'high' as unknown as number } }),
      [
        {
          field: 'spec.match.priority',
          message: 'Invalid value: "string": spec.match.priority in body must be of type integer: "string"',
        },
      ],
    ],
    [
      'too many backends',
      route({
        backends: Array.from({ length: 17 }, (_, i) => backend(`b${i}`)),
        strategy: { fixed: { backend: 'b0' } },
      }),
      [{ field: 'spec.backends', message: 'Too many: 17: must have at most 16 items' }],
    ],
    [
      'too long model',
      route({ backends: [backend('fast', { model: 'x'.repeat(257) }), backend('smart')] }),
      [{ field: 'spec.backends[0].model', message: 'Too long: may not be more than 256 bytes' }],
    ],
    [
      'empty models',
      route({ match: { models: [] } }),
      [
        {
          field: 'spec.match.models',
          message: 'Invalid value: 0: spec.match.models in body should have at least 1 items',
        },
      ],
    ],
  ])('%s', (_name, value, expected) => {
    expect(validateRoute(value)).toEqual(expected);
  });
});

describe('validateText (modelroute validate)', () => {
  it('checks every ModelRoute of a multi-document file and skips other kinds', () => {
    const text = [
      'apiVersion: v1\nkind: Secret\nmetadata: { name: openai }',
      readFileSync(`${root}examples/weighted-canary.yaml`, 'utf8'),
      readFileSync(`${root}test/fixtures/invalid/17-weight-zero.yaml`, 'utf8').replace(
        'name: weight-zero',
        'name: w\n  namespace: team',
      ),
      '',
    ].join('\n---\n');
    const v = validateText('all.yaml', text);
    expect(v.routes).toBe(2);
    expect(v.valid).toEqual([
      expect.stringMatching(/^all\.yaml: route default\/gpt4-canary: ok \(weighted, 2 backends, table [0-9a-f]{20}\)$/),
    ]);
    expect(v.problems).toEqual([
      'all.yaml: route team/w: spec.strategy.weighted.backends[1]: weight must be greater than 0',
    ]);
  });

  it('reports broken YAML', () => {
    expect(validateText('x.yaml', 'spec: [unclosed').problems).toEqual([
      expect.stringMatching(/^x\.yaml: document 1: invalid YAML: /),
    ]);
  });
});

describe('run (exit codes and output)', () => {
  let out: string[];
  beforeEach(() => {
    out = [];
    const capture = (...args: unknown[]): void => void out.push(args.join(' '));
    jest.spyOn(console, 'log').mockImplementation(capture);
    jest.spyOn(console, 'error').mockImplementation(capture);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it.each([
    ['--help', ['--help'], 0, /^usage: modelroute validate/],
    ['no files', [], 2, /^usage: modelroute validate/],
    ['unknown option', ['--strict', 'x.yaml'], 2, /unknown option --strict/],
    ['a missing file', ['/nonexistent.yaml'], 1, /^\/nonexistent\.yaml: cannot read: ENOENT/],
    ['every example', files('examples').map((f) => `${root}${f}`), 0, /: ok \(/],
    [
      'an invalid fixture',
      [`${root}test/fixtures/invalid/09-fallback-to-itself.yaml`],
      1,
      /spec\.fallbacks\[0\]: a backend must not fall back to itself$/,
    ],
  ])('%s', async (_name, argv, code, output) => {
    expect(await run(argv)).toBe(code);
    expect(out.join('\n')).toMatch(new RegExp(output.source, 'm'));
  });

  it('--quiet prints only problems', async () => {
    expect(await run(['--quiet', `${root}examples/weighted-canary.yaml`])).toBe(0);
    expect(out).toEqual([]);
  });
});
