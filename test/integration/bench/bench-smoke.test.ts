/**
 * Keeps `npm run bench` from rotting: the smoke suite (tiny counts, no thresholds) runs end to end and writes
 * a well-formed report with every section. Figures are not asserted: they depend on the machine.
 */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const SECTIONS = ['proxy', 'decision', 'memory', 'propagation', 'operator', 'fanout', 'economics'];

interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  met?: boolean;
}
interface Report {
  smoke: boolean;
  machine: { nproc: number; cpuModel: string };
  sections: { section: string; status: string; figures: Figure[]; notes: string[]; error?: string }[];
}

describe('npm run bench -- --smoke', () => {
  it('writes latest.json and latest.md with every section', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    try {
      // The exit code says whether every section ran; the report says which did not, so it is read first.
      const exit = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out],
        { cwd: resolve('.'), maxBuffer: 64 << 20, timeout: 540_000 },
      ).then(
        () => 0,
        (err: { code?: number | string }) => err.code ?? 'failed',
      );
      const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Report;
      expect(report.smoke).toBe(true);
      expect(report.machine.nproc).toBeGreaterThan(0);
      expect(report.sections.map((s) => s.section)).toEqual(SECTIONS);
      for (const s of report.sections) {
        expect({ section: s.section, status: s.status, error: s.error }).toEqual({
          section: s.section,
          status: 'ok',
          error: undefined,
        });
        // Economics has no figures only when the dev sets are absent, which its notes then say.
        expect(s.figures.length + (s.section === 'economics' ? s.notes.length : 0)).toBeGreaterThan(0);
        for (const f of s.figures) {
          expect(typeof f.name).toBe('string');
          expect(typeof f.value).toBe('number');
          // Smoke asserts no target.
          expect(f.met).toBeUndefined();
          if (f.baseline) expect(typeof f.baseline.value).toBe('number');
        }
      }
      const md = readFileSync(join(out, 'latest.md'), 'utf8');
      expect(md).toContain('| figure | value | baseline | ratio | target | met? |');
      expect(exit).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
