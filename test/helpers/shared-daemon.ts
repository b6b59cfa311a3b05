import { startSharedServers, type SharedServerName } from './shared-servers.js';

// The shared servers live in this process, which global-setup.mjs spawns with tsx: that keeps tsx
// (and its esbuild service, which could hold jest's event loop open) out of jest's own process.
// Protocol: one JSON line on stdout once ready ({"statePath": ...}); stdin closing (global-teardown,
// or jest dying in any way) stops every server, then this process exits.

const known: SharedServerName[] = ['redis', 'kube', 'jaeger'];
const names = (process.env.MODELROUTE_SHARED_SERVERS ?? known.join(','))
  .split(',')
  .map((name) => name.trim())
  .filter((name): name is SharedServerName => (known as string[]).includes(name));

const started = Date.now();
const shared = await startSharedServers(names, (line) => process.stderr.write(`[control-plane] ${line}\n`));
process.stderr.write(`[control-plane] shared servers up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
process.stdout.write(`${JSON.stringify({ statePath: shared.statePath })}\n`);

process.stdin.resume();
process.stdin.once('close', () => {
  shared.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`[control-plane] stopping shared servers failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
});
