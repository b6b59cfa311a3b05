/**
 * `modelroute dev` flags, parsed once at start with every problem reported together (ERR_DEV_CONFIG).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostPort } from '../sidecar/sidecar.js';

export const DEV_FLAGS: Record<string, string> = {
  '--routes': 'directory of ModelRoute YAML files, or one file (default ./examples)',
  '--listen': 'API address host:port (default 127.0.0.1:15500)',
  '--admin': "admin address host:port, or 'off' (default 127.0.0.1:15501)",
  '--simulate': 'simulate every backend, even those with a credential in the environment',
  '--latency-scale': 'multiply simulated latency: 1 realistic, 0 instant (default 1)',
};

const BOOLEAN_FLAGS = new Set(['--simulate']);

export interface DevConfig {
  routes: string;
  listen: HostPort;
  admin: HostPort | false;
  simulateAll: boolean;
  latencyScale: number;
}

export class DevConfigError extends Error {
  readonly code = 'ERR_DEV_CONFIG';
  constructor(readonly problems: string[]) {
    super(`invalid options:\n  - ${problems.join('\n  - ')}`);
  }
}

/** ./examples when run from a checkout, else the examples shipped next to this package. */
function defaultRoutes(cwd: string): string {
  const local = `${cwd}/examples`;
  if (existsSync(local)) return local;
  for (const rel of ['../examples', '../../examples']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return local;
}

export function parseDevConfig(argv: readonly string[], cwd = process.cwd()): DevConfig {
  const problems: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!(name in DEV_FLAGS)) {
      problems.push(
        arg.startsWith('-') ? `unknown flag ${name}` : `unexpected argument '${arg}' (routes go in --routes DIR)`,
      );
      continue;
    }
    if (BOOLEAN_FLAGS.has(name)) {
      flags.set(name, eq === -1 ? 'true' : arg.slice(eq + 1));
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) problems.push(`${name} needs a value`);
    else flags.set(name, value);
  }
  const routes = flags.get('--routes') ?? defaultRoutes(cwd);
  if (!existsSync(routes))
    problems.push(`--routes: ${routes} does not exist (give a directory of ModelRoute YAML files)`);
  const listen = hostPort(flags.get('--listen') ?? '127.0.0.1:15500', '--listen', problems);
  const adminText = flags.get('--admin') ?? '127.0.0.1:15501';
  const admin = adminText === 'off' ? false : hostPort(adminText, '--admin', problems);
  if (listen && admin && listen.port !== 0 && listen.port === admin.port && listen.host === admin.host) {
    problems.push('--listen and --admin must differ');
  }
  const simulate = flags.get('--simulate') ?? 'false';
  if (simulate !== 'true' && simulate !== 'false')
    problems.push(`--simulate takes no value (or =true/=false), got '${simulate}'`);
  const latencyScale = Number(flags.get('--latency-scale') ?? '1');
  if (!Number.isFinite(latencyScale) || latencyScale < 0 || latencyScale > 100) {
    problems.push(`--latency-scale must be a number from 0 to 100, got '${flags.get('--latency-scale')}'`);
  }
  if (problems.length > 0) throw new DevConfigError(problems);
  return Object.freeze({
    routes,
    listen: listen!,
    admin: admin === undefined ? { host: '127.0.0.1', port: 15501 } : admin,
    simulateAll: simulate === 'true',
    latencyScale,
  });
}

function hostPort(v: string, flag: string, problems: string[]): HostPort | undefined {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    problems.push(`${flag} must be host:port (e.g. 127.0.0.1:15500), got '${v}'`);
    return undefined;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
