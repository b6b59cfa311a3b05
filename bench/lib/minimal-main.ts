/**
 * `node bench/lib/minimal-main.js --port N --upstream URL`: starts bench/minimal-proxy.ts whether run through
 * tsx or compiled (its own entry check only recognises the .ts file name).
 */
import { startMinimalProxy } from '../minimal-proxy.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const upstream = arg('--upstream');
if (!upstream) {
  console.error('usage: minimal-main --port <n> --upstream <url>');
  process.exit(2);
}
const p = await startMinimalProxy(upstream, Number(arg('--port') ?? 0));
process.once('SIGTERM', () => void p.close().then(() => process.exit(0)));
