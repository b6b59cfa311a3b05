/**
 * `modelroute validate FILE...`: checks ModelRoute manifests offline with the CRD's own rules (same messages as
 * `kubectl apply`) and compiles each one, so a route that passes here is accepted by the apiserver and
 * published by the operator. Exit 0 when every route is valid, 1 when any is not, 2 on usage errors.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { compile } from '../../core/api/compile.js';
import { KIND, type ModelRoute } from '../../core/api/types.js';
import { validateRoute } from '../../core/api/validate.js';

const HELP = `usage: modelroute validate [--quiet] FILE...

Checks ModelRoute manifests (multi-document YAML or JSON; '-' reads stdin) with the same rules and
messages as the modelroute.dev CRD, then compiles each route into its routing table.
Documents of other kinds are skipped.

  -q, --quiet   print only problems

Exit status: 0 all routes valid, 1 a route or file is invalid, 2 usage error.`;

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface FileVerdict {
  /** One line per problem: `file: route ns/name: field: message`. */
  problems: string[];
  /** One line per valid route. */
  valid: string[];
  routes: number;
}

/** Validates one file's documents. */
export function validateText(file: string, text: string): FileVerdict {
  const problems: string[] = [];
  const valid: string[] = [];
  let routes = 0;
  // YAML 1.1, as kubectl reads it, so both see the same object (a bare `on:` key is `true` to both).
  const docs = parseAllDocuments(text, { prettyErrors: false, version: '1.1' });
  // parseAllDocuments returns an EmptyStream (not an array) for empty input.
  for (const [i, doc] of (Array.isArray(docs) ? docs : []).entries()) {
    if (doc.errors.length > 0) {
      problems.push(`${file}: document ${i + 1}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const obj = value as Partial<ModelRoute>;
    if (typeof value === 'object' && !Array.isArray(value) && obj.kind !== undefined && obj.kind !== KIND) continue;
    routes++;
    const id = `route ${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? `<document ${i + 1}>`}`;
    const found = validateRoute(value);
    if (found.length > 0) {
      for (const p of found) problems.push(`${file}: ${id}: ${p.field}: ${p.message}`);
      continue;
    }
    try {
      const table = compile(value as ModelRoute);
      valid.push(
        `${file}: ${id}: ok (${table.strategy.kind}, ${table.backends.length} backends, table ${table.tableVersion})`,
      );
    } catch (err) {
      problems.push(`${file}: ${id}: compile: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { problems, valid, routes };
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  const quiet = argv.includes('--quiet') || argv.includes('-q');
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '-' && !['--quiet', '-q'].includes(a));
  const files = argv.filter((a) => !a.startsWith('-') || a === '-');
  if (unknown.length > 0 || files.length === 0) {
    console.error(`${unknown.length > 0 ? `modelroute validate: unknown option ${unknown[0]}\n` : ''}${HELP}`);
    return 2;
  }
  let ok = true;
  for (const file of files) {
    let text: string;
    try {
      text = await readInput(file);
    } catch (err) {
      console.error(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      ok = false;
      continue;
    }
    const verdict = validateText(file, text);
    if (verdict.routes === 0 && verdict.problems.length === 0) verdict.problems.push(`${file}: no ModelRoute found`);
    if (!quiet) for (const line of verdict.valid) console.log(line);
    for (const line of verdict.problems) console.log(line);
    ok &&= verdict.problems.length === 0;
  }
  return ok ? 0 : 1;
}
