/**
 * `modelroute explain --route route.yaml "prompt"`: which tier and backend a prompt takes on a route, with
 * the complexity score and its largest contributions. Runs the same compile() and decide() as the sidecar,
 * offline. Exit 0 on a decision, 1 when the route is invalid or refuses the request, 2 on usage errors.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { parseAllDocuments } from 'yaml';
import { compile } from '../../core/api/compile.js';
import { KIND, type ModelRoute, type RequestFacts, RouteError } from '../../core/api/types.js';
import { ShareCalibrator } from '../../core/classifier/calibrate.js';
import { score, shippedWeights } from '../../core/classifier/score.js';
import { decide } from '../../core/decide.js';

const HELP = `usage: modelroute explain --route FILE [--name NAME] [--json] PROMPT

Shows the tier and backend a prompt takes on a ModelRoute, the complexity score and the features that
moved it most (positive: towards stronger tiers). PROMPT '-' reads the prompt from stdin.
A targetShare route uses the threshold of the shipped prior (what a fresh sidecar starts with).

  --route FILE   ModelRoute manifest (YAML or JSON); the first ModelRoute in it, or --name
  --name NAME    pick the ModelRoute with this metadata.name
  --json         print the decision as JSON

Exit status: 0 ok, 1 invalid route or the route refuses the request, 2 usage error.`;

async function readPrompt(arg: string): Promise<string> {
  if (arg !== '-') return arg;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function loadRoute(file: string, name: string | undefined): Promise<ModelRoute> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'), { prettyErrors: false, version: '1.1' });
  for (const doc of Array.isArray(docs) ? docs : []) {
    if (doc.errors.length > 0) throw new Error(`${file}: invalid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
    const v = doc.toJS() as Partial<ModelRoute> | null;
    if (v && v.kind === KIND && (name === undefined || v.metadata?.name === name)) return v as ModelRoute;
  }
  throw new Error(`${file}: no ModelRoute${name ? ` named '${name}'` : ''}`);
}

export async function run(argv: string[]): Promise<number> {
  let opts: { route: string; name?: string; json: boolean; prompt: string };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        route: { type: 'string' },
        name: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.route) throw new Error('--route is required');
    if (positionals.length !== 1) throw new Error('give exactly one PROMPT (quote it, or - for stdin)');
    opts = {
      route: values.route,
      json: values.json ?? false,
      prompt: await readPrompt(positionals[0] ?? ''),
      ...(values.name ? { name: values.name } : {}),
    };
  } catch (err) {
    console.error(`modelroute explain: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }

  try {
    const table = compile(await loadRoute(opts.route, opts.name));
    const messages = [{ role: 'user', content: opts.prompt }];
    const facts: RequestFacts = {
      endpoint: 'chat',
      model: table.match.models[0] ?? '',
      header: () => undefined,
      messages,
      inputTokens: countTokens(opts.prompt),
      wantsTools: false,
    };
    const prior = new ShareCalibrator({ prior: shippedWeights.prior });
    const d = decide(table, facts, {
      score,
      threshold: (t) =>
        t.strategy.kind === 'complexity' && t.strategy.targetShare !== undefined
          ? prior.threshold(t.strategy.targetShare)
          : undefined,
      // Only the weighted strategy draws; a fixed draw keeps explain's answer reproducible.
      random: () => 0.5,
    });
    const chosen = d.attempts[0];
    const out = {
      route: `${table.route.namespace}/${table.route.name}`,
      tier: d.tier,
      backend: chosen?.name,
      model: chosen?.model,
      ...(d.reasoningEffort ? { reasoningEffort: d.reasoningEffort } : {}),
      score: d.score,
      reason: d.reason,
      top: d.top ?? [],
    };
    if (opts.json) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(`route    ${out.route}`);
      if (out.tier !== undefined) console.log(`tier     ${out.tier}`);
      console.log(
        `backend  ${out.backend} (${out.model})${d.reasoningEffort ? `, reasoningEffort ${d.reasoningEffort}` : ''}`,
      );
      if (out.score !== undefined) console.log(`score    ${out.score.toFixed(3)}`);
      console.log(`reason   ${out.reason}`);
      if (out.top.length > 0) {
        console.log('why');
        for (const t of out.top) console.log(`  ${(t.weight >= 0 ? '+' : '') + t.weight.toFixed(3)}  ${t.feature}`);
      }
    }
    return 0;
  } catch (err) {
    const code = err instanceof RouteError ? ` (${err.code})` : '';
    console.error(`modelroute explain: ${(err as Error).message}${code}`);
    return 1;
  }
}
