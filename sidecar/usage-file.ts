/**
 * Usage batches that Redis had not acknowledged when the sidecar stopped, kept on local disk next to the
 * state file and replayed by the next start. Each batch keeps its writer id and sequence number, so the
 * replay goes through the same exactly-once Lua check as a live flush: a batch that did land before the
 * stop (reply lost) is skipped, one that did not is applied once. Replaced atomically (write, then rename).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface UsageBatch {
  writer: string;
  seq: number;
  fields: Map<string, number>;
  spend: Map<string, { amount: number; ttl: number }>;
}

interface UsageFileContent {
  namespace: string;
  savedAt: string;
  batches: { writer: string; seq: number; fields: [string, number][]; spend: [string, number, number][] }[];
}

/** Writes the batches (in order), or removes the file when there are none. */
export async function saveUsageBatches(path: string, namespace: string, batches: readonly UsageBatch[]): Promise<void> {
  if (batches.length === 0) {
    await rm(path, { force: true });
    return;
  }
  const content: UsageFileContent = {
    namespace,
    savedAt: new Date().toISOString(),
    batches: batches.map((b) => ({
      writer: b.writer,
      seq: b.seq,
      fields: [...b.fields],
      spend: [...b.spend].map(([k, s]) => [k, s.amount, s.ttl]),
    })),
  };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(content), { mode: 0o600 });
  await rename(tmp, path);
}

/** The batches a previous run left for this namespace; none when the file is absent or unusable (logged). */
export async function loadUsageBatches(
  path: string,
  namespace: string,
  log: (m: string) => void,
): Promise<UsageBatch[]> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log(`usage file ${path} unreadable: ${(err as Error).message}`);
    return [];
  }
  try {
    const c = JSON.parse(raw) as UsageFileContent;
    if (c.namespace !== namespace) {
      log(`usage file ${path} is for namespace '${String(c.namespace)}', not '${namespace}': ignored`);
      return [];
    }
    return c.batches.map((b) => {
      if (typeof b.writer !== 'string' || !Number.isInteger(b.seq)) throw new Error('a batch without writer or seq');
      const num = (v: unknown) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`not a number: ${String(v)}`);
        return v;
      };
      return {
        writer: b.writer,
        seq: b.seq,
        fields: new Map(b.fields.map(([f, v]) => [String(f), num(v)])),
        spend: new Map(b.spend.map(([k, amount, ttl]) => [String(k), { amount: num(amount), ttl: num(ttl) }])),
      };
    });
  } catch (err) {
    log(`usage file ${path} is not valid: ${(err as Error).message}; ignored`);
    return [];
  }
}
