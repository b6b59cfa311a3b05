/**
 * Relative links in the docs this suite owns must point at files that exist, and `#anchors` at headings that
 * exist (GitHub's slug rules), so a renamed section or file does not leave readers at a dead end.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = [
  'SECURITY.md',
  'docs/README.md',
  'docs/architecture.md',
  'docs/operations.md',
  'docs/troubleshooting.md',
  'docs/reference.md',
  ...readdirSync(`${root}docs/adr`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/adr/${f}`),
];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

function linksOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/(`+)[\s\S]*?\1/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
}

describe('doc links', () => {
  it('computes GitHub anchors', () => {
    expect(slug('A route that does not load in the sidecar')).toBe('a-route-that-does-not-load-in-the-sidecar');
    expect(slug('`kubectl get` columns: 1, 2')).toBe('kubectl-get-columns-1-2');
  });

  it.each(PAGES)('%s links only to files and headings that exist', (page) => {
    const broken: string[] = [];
    for (const link of linksOf(`${root}${page}`)) {
      const [target = '', anchor] = link.split('#');
      const file = target === '' ? `${root}${page}` : path.resolve(path.dirname(`${root}${page}`), target);
      if (!existsSync(file)) broken.push(`${link} (no such file)`);
      else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(file).has(anchor)) {
        broken.push(`${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
