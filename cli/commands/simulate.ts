/**
 * `modelroute simulate --route route.yaml --prompts prompts.jsonl`: what a route would do with these prompts,
 * before it is applied (local/simulate.ts). Exit status: 0 done, 1 invalid route or prompts file, 2 usage error.
 */
import { readFile } from 'node:fs/promises';
import { score } from '../../core/classifier/score.js';
import { DEFAULT_OUTPUT_ESTIMATE } from '../../core/api/defaults.js';
import type { RoutingTable } from '../../core/api/types.js';
import { RowError, parseRow, type RouterEvalRow } from '../../core/eval/router-eval.js';
import { parseRouteFile } from '../../local/route-files.js';
import { formatReport } from '../../local/simulate-report.js';
import { simulateRoute } from '../../local/simulate.js';

const HELP = `usage: modelroute simulate --route FILE --prompts FILE [flags]

What-if for a ModelRoute before you apply it: every prompt goes through the sidecar's own decision
(same classifier, same thresholds); nothing is called. Prints the share of requests per tier or backend,
the estimated cost per 1,000 requests against always using the top tier and, when the prompts carry
router-eval labels (weak/strong quality), the expected quality.

  --route FILE          ModelRoute YAML (if it holds several routes, pick one with --name)
  --name NAME           which route of the file to simulate
  --prompts FILE        JSONL, one {"messages": [...]} per line; router-eval rows may add
                        "weak"/"strong": {"quality", "response"} ('-' reads stdin)
  --output-tokens N     output tokens per request when a row has no response text (default ${DEFAULT_OUTPUT_ESTIMATE})
  --seed N              seed for weighted routes' random draws (default 1)
  --json                print the report as JSON
  -h, --help            this help

Exit status: 0 done, 1 invalid route or prompts file, 2 usage error.`;

class UsageError extends Error {}

interface Args {
  route: string;
  name?: string;
  prompts: string;
  outputTokens: number;
  seed: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const problems: string[] = [];
  const values = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name === '--json') json = true;
    else if (['--route', '--name', '--prompts', '--output-tokens', '--seed'].includes(name)) {
      const v = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (v === undefined || v === '') problems.push(`${name} needs a value`);
      else values.set(name, v);
    } else problems.push(arg.startsWith('-') ? `unknown flag ${arg}` : `unexpected argument '${arg}'`);
  }
  if (!values.has('--route')) problems.push('--route FILE is required');
  if (!values.has('--prompts')) problems.push('--prompts FILE is required');
  const int = (flag: string, fallback: number, min: number) => {
    const v = values.get(flag);
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n < min) problems.push(`${flag} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
  const outputTokens = int('--output-tokens', DEFAULT_OUTPUT_ESTIMATE, 0);
  const seed = int('--seed', 1, 0);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
    route: values.get('--route')!,
    ...(values.has('--name') && { name: values.get('--name')! }),
    prompts: values.get('--prompts')!,
    outputTokens,
    seed,
    json,
  };
}

async function readText(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The one route to simulate, or the reason there is none. */
function pickRoute(file: string, text: string, name: string | undefined): RoutingTable | string {
  const parsed = parseRouteFile(file, text);
  if (parsed.problems.length > 0)
    return `${parsed.problems.join('\n')}\n(fix the route; 'modelroute validate ${file}' checks it)`;
  const tables = name === undefined ? parsed.tables : parsed.tables.filter((t) => t.route.name === name);
  if (tables.length === 1) return tables[0]!;
  const names = parsed.tables.map((t) => t.route.name).join(', ');
  if (tables.length === 0)
    return name === undefined
      ? `${file}: no ModelRoute found`
      : `${file}: no route named '${name}' (found: ${names || 'none'})`;
  return `${file} holds ${tables.length} routes (${names}): pick one with --name`;
}

function parseRows(file: string, text: string): RouterEvalRow[] {
  const rows: RouterEvalRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l !== '') rows.push(parseRow(l, i + 1));
  }
  if (rows.length === 0) throw new RowError(`${file} holds no prompts`);
  return rows;
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`modelroute simulate: ${err.message}\n\nRun 'modelroute simulate --help' for usage.`);
    return 2;
  }
  let routeText: string;
  let promptText: string;
  try {
    [routeText, promptText] = await Promise.all([readText(args.route), readText(args.prompts)]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    console.error(`modelroute simulate: cannot read ${e.path ?? 'input'}: ${e.code ?? e.message}`);
    return 1;
  }
  const table = pickRoute(args.route, routeText, args.name);
  if (typeof table === 'string') {
    console.error(table);
    return 1;
  }
  let rows: RouterEvalRow[];
  try {
    rows = parseRows(args.prompts, promptText);
  } catch (err) {
    if (!(err instanceof RowError)) throw err;
    console.error(`modelroute simulate: ${args.prompts}: ${err.message}`);
    return 1;
  }
  const started = Date.now();
  let shown = false;
  const report = simulateRoute(table, rows, {
    score,
    outputTokens: args.outputTokens,
    seed: args.seed,
    onProgress(phase, done, total) {
      // Quiet for small files; a large one says where it is (on stderr, so --json stays clean).
      if (Date.now() - started < 1000 && !shown) return;
      shown = true;
      process.stderr.write(`${phase} ${done}/${total} prompts${process.stderr.isTTY ? '\r' : '\n'}`);
    },
  });
  if (shown && process.stderr.isTTY) process.stderr.write('\n');
  console.log(
    args.json
      ? JSON.stringify(report, null, 2)
      : formatReport(report, { prompts: args.prompts, outputTokens: args.outputTokens }),
  );
  return 0;
}
