/**
 * The sidecar as the image runs it: compiled JavaScript (`node dist/cli/main.js`), not TypeScript through the
 * tsx loader, which costs tens of MB of RSS of its own. Built with tsc into .cache/bench-dist (git-ignored).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
export const DIST = `${root}.cache/bench-dist`;

/** Compiles core, sidecar, operator, cli and the minimal proxy; type errors do not stop the emit. */
export async function buildDist(): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-p', 'bench/lib/tsconfig.dist.json'],
    {
      cwd: root,
    },
  ).catch((err: { stdout?: string }) => {
    // tsc exits non-zero on type errors but still emits; only a missing output is fatal.
    if (!existsSync(`${DIST}/cli/main.js`)) throw new Error(`tsc emitted no sidecar: ${err.stdout ?? String(err)}`);
  });
}
