/**
 * Hot reload in `modelroute dev`: an edited route applies to the next call; a broken edit is reported with its
 * file and field while the last good version keeps serving; fixing it reloads; deleting a file stops its routes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { removeRoutes, startDev, tempRoutes, type DevProcess } from './dev-process.js';

let dir: string;
let dev: DevProcess;
let client: OpenAI;

/** A weighted route serving model `hot` from two simulated backends. */
function canary(weights: { stable: number; canary: number }, extra = ''): string {
  return `apiVersion: modelroute.dev/v1alpha1
kind: ModelRoute
metadata:
  name: hot-canary
spec:
  match:
    models: [hot]
  backends:
    - name: stable
      provider: openai
      baseURL: https://api.openai.com/v1
      model: gpt-4o
      credentialsSecretRef: { name: openai, key: apiKey }
    - name: canary
      provider: openai
      baseURL: https://api.openai.com/v1
      model: gpt-4.1
      credentialsSecretRef: { name: openai, key: apiKey }
  strategy:
    weighted:
      backends:
        - { backend: stable, weight: ${weights.stable} }
        - { backend: canary, weight: ${weights.canary} }
${extra}`;
}

/** Saves as editors do (write aside, rename over), so the store never reads a half-written file. */
function save(name: string, text: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

async function call(model = 'hot') {
  const { data, response } = await client.chat.completions
    .create({ model, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  return {
    backend: response.headers.get('x-modelroute-backend'),
    version: response.headers.get('x-modelroute-table-version'),
    text: data.choices[0]!.message.content,
  };
}

beforeAll(async () => {
  dir = tempRoutes();
  save('hot.yaml', canary({ stable: 1, canary: 1 }));
  // Broken from the start: reported at once, and it does not stop the other routes from loading.
  save(
    'broken-at-start.yaml',
    canary({ stable: 1, canary: 1 })
      .replace('hot-canary', 'typo')
      .replace('[hot]', '[typo]')
      .replace('provider: openai\n', 'provider: openia\n'),
  );
  dev = await startDev({ routes: dir });
  client = new OpenAI({ baseURL: dev.baseURL, apiKey: 'local', maxRetries: 0 });
});

afterAll(async () => {
  await dev?.stop();
  removeRoutes(dir);
});

describe('hot reload', () => {
  test('a file broken at start is reported with file and field; the rest is served', async () => {
    const line = await dev.waitForLine(
      /error: .*broken-at-start\.yaml: route default\/Not_A_Name: metadata\.name|error: .*broken-at-start\.yaml/,
    );
    expect(line).toContain('broken-at-start.yaml');
    expect((await call()).text).toMatch(/^Simulated /);
  });

  let good: string;
  test('an edit applies to the next call', async () => {
    const from = dev.output().length;
    const before = await call();
    save('hot.yaml', canary({ stable: 1, canary: 1 }).replace(/weighted:[\s\S]*$/, 'fixed: { backend: canary }\n'));
    await dev.waitForLine(/route default\/hot-canary reloaded from .*hot\.yaml \(table \w+ -> \w+\)/, { from });
    for (let i = 0; i < 5; i++) {
      const after = await call();
      expect(after.backend).toBe('canary');
      expect(after.version).not.toBe(before.version);
      good = after.version!;
    }
  });

  test('an invalid edit names file and field, and the last good version keeps serving', async () => {
    const from = dev.output().length;
    save('hot.yaml', canary({ stable: 10, canary: 0 }));
    const error = await dev.waitForLine(/error: .*hot\.yaml: route default\/hot-canary: /, { from });
    expect(error).toContain('spec.strategy.weighted.backends[1]: weight must be greater than 0');
    await dev.waitForLine(new RegExp(`hot\\.yaml: still serving the last good version of default/hot-canary@${good}`), {
      from,
    });
    for (let i = 0; i < 3; i++) expect(await call()).toMatchObject({ backend: 'canary', version: good });
  });

  test('a file that is not YAML is reported with its line, and the last good version keeps serving', async () => {
    const from = dev.output().length;
    // Written in place (truncate + write), as some editors and `echo >` do.
    writeFileSync(join(dir, 'hot.yaml'), 'apiVersion: modelroute.dev/v1alpha1\nspec: [unclosed\n');
    const error = await dev.waitForLine(/error: .*hot\.yaml: document 1: invalid YAML at line \d+, column \d+/, {
      from,
    });
    expect(error).toBeDefined();
    expect(await call()).toMatchObject({ backend: 'canary', version: good });
  });

  test('fixing the file reloads it', async () => {
    const from = dev.output().length;
    save('hot.yaml', canary({ stable: 1, canary: 1 }).replace(/weighted:[\s\S]*$/, 'fixed: { backend: stable }\n'));
    await dev.waitForLine(/route default\/hot-canary reloaded/, { from });
    expect((await call()).backend).toBe('stable');
  });

  test('a new file adds its model names; deleting it removes them', async () => {
    let from = dev.output().length;
    save('extra.yaml', canary({ stable: 1, canary: 1 }).replace('hot-canary', 'extra').replace('[hot]', '[brand-new]'));
    await dev.waitForLine(/route default\/extra loaded from .*extra\.yaml/, { from });
    await dev.waitForLine(/^ {2}brand-new -> extra \(priority 0\)$/, { from });
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain('brand-new');
    expect((await call('brand-new')).text).toMatch(/^Simulated /);

    from = dev.output().length;
    rmSync(join(dir, 'extra.yaml'));
    await dev.waitForLine(/route default\/extra is no longer served/, { from });
    const err = await call('brand-new').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
