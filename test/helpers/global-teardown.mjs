/** Stops what global-setup.mjs started (globalSetup and globalTeardown share the jest parent's globals). */
export default async function globalTeardown() {
  await globalThis.__modelrouteSharedServers?.stop();
  delete globalThis.__modelrouteSharedServers;
}
