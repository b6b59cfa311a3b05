import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop } from './load.js';
import { rssMB } from './procs.js';
import { benchRoute, startStack, metric } from './stack.js';
const stack = await startStack('bench-heap', { compiled: true, sidecarNodeFlags: ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir=/tmp/hs'] });
try {
  const sc = await stack.startSidecar();
  await stack.publish(benchRoute('bench-heap', 'bench', stack.upstreamURL, { model: 'bench' }));
  await sleep(1500);
  for (const n of [30000, 30000]) {
    const r = await closedLoop({ url: stack.sidecarURL, model: 'bench', requests: n, seconds: 60, streamEvery: 10 });
    await sleep(2000);
    const t = await (await fetch(`${stack.adminURL}/metrics`)).text();
    console.log(r.done, r.errors, 'rss', rssMB(sc.pid!).toFixed(1), 'heap', ((metric(t, 'nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20).toFixed(1));
  }
  sc.kill('SIGUSR2');
  await sleep(15000);
} finally {
  await stack.stop();
}
