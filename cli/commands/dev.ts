/**
 * `modelroute dev`: local mode, wiring only (local/dev.ts does the work). Runs until SIGINT/SIGTERM.
 * Exit status: 0 stopped by a signal, 1 could not start (e.g. the port is taken), 2 usage error.
 */
import { DEV_FLAGS, DevConfigError, parseDevConfig } from '../../local/dev-config.js';
import { startDev } from '../../local/dev.js';

const HELP = `usage: modelroute dev [flags]

Runs the sidecar on your machine with routes read from ModelRoute YAML files (reloaded when they change)
and simulated models standing in for backends it cannot call. Point any OpenAI client at it.

${Object.entries(DEV_FLAGS)
  .map(([f, d]) => `  ${f.padEnd(16)}  ${d}`)
  .join('\n')}

Which backends are called for real:
  - a backend without credentialsSecretRef, unless its host only resolves inside a cluster (*.svc, *.cluster.local)
  - a backend whose credential is in the environment:
      credentialsSecretRef {name: N, key: K} -> MODELROUTE_CREDENTIAL_<N>_<K> (upper case, other characters as _)
      provider openai -> OPENAI_API_KEY; provider azure-openai -> AZURE_OPENAI_API_KEY (when the above is unset)
  Every other backend (all of them with --simulate) is answered by the built-in simulator.

Exit status: 0 stopped by Ctrl-C or SIGTERM, 1 could not start, 2 usage error.`;

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return 0;
  }
  let config;
  try {
    config = parseDevConfig(argv);
  } catch (err) {
    if (!(err instanceof DevConfigError)) throw err;
    console.error(`modelroute dev: ${err.message}\n\nRun 'modelroute dev --help' for the flags.`);
    return 2;
  }
  const log = (m: string) => console.log(`${stamp()} ${m}`);
  let dev;
  try {
    dev = await startDev(config, { env: process.env, log, print: (text) => console.log(text) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === 'EADDRINUSE') {
      console.error(
        `modelroute dev: ${e.address}:${e.port} is already in use (another modelroute dev or sidecar?); ` +
          `stop it, or pick other ports with --listen 127.0.0.1:15600 --admin 127.0.0.1:15601`,
      );
      return 1;
    }
    console.error(`modelroute dev: cannot start: ${e.message}`);
    return 1;
  }
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log(`${signal}: stopping`);
  await dev.close();
  return 0;
}
