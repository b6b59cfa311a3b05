/**
 * The last good tables on local disk, so a sidecar that restarts while Redis is down still routes. The file
 * holds tables exactly as Redis does (credentials sealed) and is replaced atomically (write, then rename).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { validateTable } from '../core/api/validate-table.js';
import type { RoutingTable } from '../core/api/types.js';

interface StateFileContent {
  namespace: string;
  savedAt: string;
  tables: unknown[];
}

export async function saveState(path: string, namespace: string, tables: ReadonlyArray<RoutingTable>): Promise<void> {
  const content: StateFileContent = { namespace, savedAt: new Date().toISOString(), tables: [...tables] };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(content), { mode: 0o600 });
  await rename(tmp, path);
}

/** Valid tables of this namespace from the file; a missing file gives none, a bad entry is skipped. */
export async function loadState(path: string, namespace: string, log: (m: string) => void): Promise<RoutingTable[]> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log(`state file ${path} unreadable: ${(err as Error).message}`);
    return [];
  }
  let content: StateFileContent;
  try {
    content = JSON.parse(raw) as StateFileContent;
  } catch (err) {
    log(`state file ${path} is not JSON: ${(err as Error).message}`);
    return [];
  }
  if (content.namespace !== namespace || !Array.isArray(content.tables)) {
    log(`state file ${path} is for namespace '${String(content.namespace)}', not '${namespace}': ignored`);
    return [];
  }
  const out: RoutingTable[] = [];
  for (const t of content.tables) {
    try {
      out.push(validateTable(t));
    } catch (err) {
      log(`state file ${path}: skipped a table: ${(err as Error).message}`);
    }
  }
  return out;
}
