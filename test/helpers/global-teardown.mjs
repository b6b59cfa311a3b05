/** Stops the shared control plane that global-setup.mjs started, and waits until it has exited. */
export default async function globalTeardown() {
  const daemon = globalThis.__modelrouteSharedDaemon;
  delete globalThis.__modelrouteSharedDaemon;
  if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
  daemon.ref();
  const exited = new Promise((resolve) => daemon.once('exit', resolve));
  daemon.stdin.end();
  await exited;
}
