import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helm } from '../../helpers/control-plane.js';

describe('helm', () => {
  let chart: string;
  beforeAll(() => {
    chart = mkdtempSync(join(tmpdir(), 'modelroute-smoke-chart-'));
    mkdirSync(join(chart, 'templates'));
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: smoke\nversion: 0.1.0\n');
    writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\n');
    writeFileSync(
      join(chart, 'templates', 'configmap.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-smoke\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
    );
  });
  afterAll(() => rmSync(chart, { recursive: true, force: true }));

  it('reports its pinned version', async () => {
    const result = await helm(['version', '--short']);

    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^v3\.19\.5/) });
  });

  it('renders a chart with helm template', async () => {
    const result = await helm(['template', 'demo', chart, '--set', 'greeting=hi']);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('name: demo-smoke');
    expect(result.stdout).toContain('greeting: "hi"');
  });
});
