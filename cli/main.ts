#!/usr/bin/env node
/**
 * `modelroute`: one entry point, so one image runs either role. Each subcommand lives in
 * cli/commands/<name>.ts and exports `run(argv): Promise<number>` (the exit code); it is imported only
 * when asked for, so `modelroute score` does not load the Kubernetes client.
 */
const COMMANDS: Record<string, string> = {
  operator: 'reconcile ModelRoutes into routing tables in Redis',
  sidecar: 'serve the OpenAI-compatible API on localhost and route every call',
  dev: 'local mode: the sidecar with routes from YAML files and simulated models',
  validate: 'check ModelRoute manifests offline, with the CRD messages',
  explain: 'show which tier a prompt takes on a route, and why',
  score: 'score router-eval JSONL from stdin',
  eval: 'router quality and cost metrics on labelled data',
  simulate: 'what-if for a route on a prompt file: share per tier, cost, quality',
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([c, d]) => `  ${c.padEnd(width)}  ${d}`);
  return `usage: modelroute <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'modelroute <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return command === undefined ? 2 : 0;
  }
  if (!(command in COMMANDS)) {
    console.error(`modelroute: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  const mod = (await import(`./commands/${command}.js`)) as { run(argv: string[]): Promise<number> };
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`modelroute: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
