/**
 * Reads ModelRoute YAML files for local mode and compiles each route in-process with the same validation (and
 * messages) as the CRD and `modelroute validate`. A file is judged document by document, so one bad route
 * does not hide the good ones beside it, and each problem names the file, the route and the field.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { compile } from '../core/api/compile.js';
import { KIND, type ModelRoute, type RoutingTable } from '../core/api/types.js';
import { validateRoute } from '../core/api/validate.js';

const ROUTE_FILE = new Set(['.yaml', '.yml', '.json']);

export interface FileRoutes {
  file: string;
  /** The YAML did not parse: nothing in the file can be trusted, not even which routes it names. */
  unreadable: boolean;
  /** Routes that validated and compiled. */
  tables: RoutingTable[];
  /** `namespace/name` of routes that are present but invalid (their last good version should stay). */
  invalid: string[];
  /** One line per problem: `file: route ns/name: field: message`. */
  problems: string[];
}

export const routeKey = (t: { route: { namespace: string; name: string } }): string =>
  `${t.route.namespace}/${t.route.name}`;

/** Judges the text of one file. */
export function parseRouteFile(file: string, text: string): FileRoutes {
  const out: FileRoutes = { file, unreadable: false, tables: [], invalid: [], problems: [] };
  const docs = parseAllDocuments(text, { prettyErrors: true });
  // parseAllDocuments returns an EmptyStream (not an array) for empty input.
  for (const [i, doc] of (Array.isArray(docs) ? docs : []).entries()) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const where = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      out.problems.push(`${file}: document ${i + 1}: invalid YAML${where}: ${e.message.split('\n')[0]}`);
      out.unreadable = true;
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const obj = value as Partial<ModelRoute>;
    if (typeof value === 'object' && !Array.isArray(value) && obj.kind !== undefined && obj.kind !== KIND) continue;
    const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : undefined;
    const key = `${typeof obj.metadata?.namespace === 'string' ? obj.metadata.namespace : 'default'}/${name ?? `<document ${i + 1}>`}`;
    const problems = validateRoute(value);
    if (problems.length === 0) {
      try {
        out.tables.push(compile(value as ModelRoute));
        continue;
      } catch (err) {
        problems.push({ field: 'spec', message: (err as Error).message });
      }
    }
    for (const p of problems) out.problems.push(`${file}: route ${key}: ${p.field}: ${p.message}`);
    if (name !== undefined) out.invalid.push(key);
  }
  return out;
}

/** Route files under `path` (a directory, not recursive, or one file), sorted so load order is stable. */
export async function listRouteFiles(path: string): Promise<string[]> {
  const s = await stat(path);
  if (!s.isDirectory()) return [path];
  const names = await readdir(path);
  return names
    .filter((n) => !n.startsWith('.') && ROUTE_FILE.has(extname(n).toLowerCase()))
    .sort()
    .map((n) => join(path, n));
}
