/**
 * The live heap of a Node process after a full GC: the process is started with
 * `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=DIR` (`heapSnapshotFlags`), and on SIGUSR2 it collects all
 * garbage and writes every live object to DIR. The sum of their self sizes is what the process really holds,
 * where RSS and the heap gauge also count garbage not yet collected.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export function heapSnapshotFlags(dir: string): string[] {
  return ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
}

/**
 * Signals `pid` for a snapshot into `dir`, waits for it, and returns the live heap in MB (to the kB): `total`,
 * and `data`, the program's own objects (objects, arrays, strings, closures...) without V8's compiled code and
 * internal (hidden) structures. Code grows and shrinks as V8 compiles and flushes functions, by hundreds of kB
 * after a snapshot's own GCs; what requests leave behind shows in `data`.
 */
export async function liveHeapMB(pid: number, dir: string): Promise<{ total: number; data: number }> {
  process.kill(pid, 'SIGUSR2');
  const { file, snapshot } = await waitFor(
    () => {
      const name = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'));
      if (!name) return undefined;
      try {
        const parsed = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {
          snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
          nodes: number[];
        };
        return { file: join(dir, name), snapshot: parsed };
      } catch {
        return undefined; // still being written
      }
    },
    { timeoutMs: 60_000, intervalMs: 200, message: `a heap snapshot of process ${pid}` },
  );
  rmSync(file);
  const { node_fields: fields, node_types: types } = snapshot.snapshot.meta;
  const size = fields.indexOf('self_size');
  const type = fields.indexOf('type');
  const notData = new Set(['code', 'hidden'].map((t) => types[0].indexOf(t)));
  let total = 0;
  let data = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const bytes = snapshot.nodes[i + size]!;
    total += bytes;
    if (!notData.has(snapshot.nodes[i + type]!)) data += bytes;
  }
  const mb = (bytes: number) => Math.round(bytes / 1e3) / 1e3;
  return { total: mb(total), data: mb(data) };
}
