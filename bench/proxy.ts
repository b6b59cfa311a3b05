/**
 * Sidecar latency benchmark (a program, not a test). Three paths to the same lean upstream, each server in
 * its own process: direct, through bench/minimal-proxy.ts (parse body, rewrite model, forward), and through
 * the real sidecar (`modelroute sidecar` with a table in a private redis-server, usage flushing on).
 *
 *  1. Fixed rate, open loop, interleaved: at each tick one request goes to each path in rotating order, at
 *     100, 500 and 1000 requests/s per path; non-streaming (time to full body) and streaming (time to first
 *     and to last byte). Overhead = a path's percentile minus the direct percentile.
 *  2. Peak throughput of the sidecar and of the minimal proxy (closed loop, autocannon, 32 connections); each
 *     server is one Node process, so on one core.
 *
 * Usage: tsx bench/proxy.ts [--seconds 5] [--rates 100,500,1000]   Writes bench/results/proxy.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { compile } from '../core/api/compile.js';
import { SIDECAR_NODE_OPTIONS } from '../operator/webhook/mutate-pod.js';
import { freePort, startRedis, waitFor } from '../test/helpers/control-plane.js';

const argOf = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
};

// ---------------------------------------------------------------------------------------------------------
// Role: the lean upstream (a child process), so the upstream is never the bottleneck being measured.

const PROMPT_BODY = (stream: boolean) =>
  JSON.stringify({
    model: 'bench',
    stream,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Summarise the plot of Hamlet in three sentences, please. '.repeat(4) },
    ],
  });

function runUpstream(port: number): void {
  const json = JSON.stringify({
    id: 'x',
    object: 'chat.completion',
    created: 0,
    model: 'm',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'Hamlet avenges his father.' }, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 60, completion_tokens: 6, total_tokens: 66 },
  });
  const chunk = (c: string) =>
    `data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{"content":"${c}"}}]}\n\n`;
  const tail =
    ['his ', 'father.'].map(chunk).join('') +
    'data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[],"usage":{"prompt_tokens":60,"completion_tokens":6,"total_tokens":66}}\n\ndata: [DONE]\n\n';
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const stream = Buffer.concat(parts).includes('"stream":true');
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('Hamlet ') + chunk('avenges '));
      // The rest a moment later, as a model would: TTFB is measured on the first write.
      setImmediate(() => res.end(tail));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s) => s.setNoDelay(true));
  server.listen(port, '127.0.0.1');
}

// ---------------------------------------------------------------------------------------------------------
// Role: the driver.

interface Target {
  name: 'direct' | 'minimal' | 'sidecar';
  url: string;
  pool: Pool;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number) => Math.round(x * 1000) / 1000;

/** Time to the full body (JSON), or to the first and the last byte (streaming), in ms. */
async function once(t: Target, stream: boolean): Promise<{ first: number; last: number }> {
  const t0 = performance.now();
  const r = await t.pool.request({
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: PROMPT_BODY(stream),
  });
  if (r.statusCode !== 200) throw new Error(`${t.name}: HTTP ${r.statusCode}: ${await r.body.text()}`);
  if (!stream) {
    await r.body.arrayBuffer();
    const at = performance.now() - t0;
    return { first: at, last: at };
  }
  let first = 0;
  for await (const _ of r.body) if (first === 0) first = performance.now() - t0;
  return { first, last: performance.now() - t0 };
}

/** Open loop: request k to every path is due at start + k/rps, whatever the previous ones are doing. */
async function fixedRate(targets: Target[], rps: number, seconds: number, stream: boolean) {
  const lat = new Map(targets.map((t) => [t.name, [] as number[]]));
  const last = new Map(targets.map((t) => [t.name, [] as number[]]));
  let errors = 0;
  const total = Math.round(rps * seconds);
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rps) / 1000) + 1);
      for (; sent < due; sent++) {
        for (let j = 0; j < targets.length; j++) {
          const t = targets[(sent + j) % targets.length]!;
          inflight.push(
            once(t, stream).then(
              (x) => {
                lat.get(t.name)!.push(x.first);
                last.get(t.name)!.push(x.last);
              },
              () => void errors++,
            ),
          );
        }
      }
      if (sent >= total) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  return { lat, last, errors };
}

type Autocannon = (
  o: Record<string, unknown>,
) => Promise<{ requests: { average: number; total: number }; non2xx: number; errors: number }>;

async function peak(url: string, seconds: number, stream: boolean): Promise<{ rps: number; requests: number }> {
  // autocannon ships no types; the one call used here is typed locally.
  const autocannon = ((await import('autocannon' as string)) as { default: Autocannon }).default;
  const r = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: PROMPT_BODY(stream),
    connections: 32,
    duration: seconds,
  });
  if (r.non2xx > 0 || r.errors > 0)
    console.log(`  ${url}: ${r.non2xx} non-2xx, ${r.errors} errors during the peak run`);
  return { rps: Math.round(r.requests.average), requests: r.requests.total };
}

/** utime + stime of a process, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The sidecar's own view: its overhead histogram (time it added before the upstream answer reached the client). */
async function selfReported(adminURL: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${adminURL}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^modelroute_sidecar_overhead_seconds_bucket\{le="([^"]+)"\} (\d+)/gm))
    out[`le_${m[1]}s`] = Number(m[2]);
  const count = out['le_+Infs'] ?? 0;
  return { ...out, shareUnder1ms: count ? Math.round(((out['le_0.001s'] ?? 0) / count) * 10000) / 10000 : NaN };
}

function child(name: string, args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): ChildProcess {
  const p = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  p.stderr?.on('data', (d: Buffer) => {
    const line = d.toString();
    if (!line.includes('serving')) process.stderr.write(`[${name}] ${line}`);
  });
  return p;
}

async function up(url: string): Promise<void> {
  await waitFor(async () => (await fetch(url).catch(() => undefined)) !== undefined, {
    timeoutMs: 30_000,
    message: url,
  });
}

async function main(): Promise<void> {
  const seconds = Number(argOf('seconds') ?? 5);
  const rates = (argOf('rates') ?? '100,500,1000').split(',').map(Number);
  const [upPort, minPort, scPort, adminPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const redis = await startRedis();
  const procs: ChildProcess[] = [];
  try {
    procs.push(child('upstream', ['bench/proxy.ts', '--role', 'upstream', '--port', String(upPort)]));
    const minimalProc = child('minimal', [
      'bench/minimal-proxy.ts',
      '--port',
      String(minPort),
      '--upstream',
      `http://127.0.0.1:${upPort}`,
    ]);
    procs.push(minimalProc);
    const table = compile({
      apiVersion: 'modelroute.dev/v1alpha1',
      kind: 'ModelRoute',
      metadata: { name: 'bench', namespace: 'bench' },
      spec: {
        match: { models: ['bench'] },
        backends: [
          {
            name: 'up',
            provider: 'openai-compatible',
            baseURL: `http://127.0.0.1:${upPort}/v1`,
            model: 'upstream-model',
            pricing: { inputPerMillion: 1, outputPerMillion: 2 },
          },
        ],
        strategy: { fixed: { backend: 'up' } },
      },
    });
    const r = new Redis(redis.url);
    await r
      .multi()
      .set('mr:{bench}:table:bench', JSON.stringify(table))
      .set('mr:{bench}:version:bench', table.tableVersion)
      .hset('mr:{bench}:index', 'bench', table.tableVersion)
      .exec();
    r.disconnect();
    const sidecarProc = child(
      'sidecar',
      ['cli/main.ts', 'sidecar', '--listen', `127.0.0.1:${scPort}`, '--admin', `127.0.0.1:${adminPort}`],
      { MODELROUTE_REDIS_URL: redis.url, POD_NAMESPACE: 'bench' },
      // As injected into a pod.
      SIDECAR_NODE_OPTIONS.split(' '),
    );
    procs.push(sidecarProc);
    await Promise.all([
      up(`http://127.0.0.1:${upPort}/`),
      up(`http://127.0.0.1:${minPort}/`),
      up(`http://127.0.0.1:${adminPort}/readyz`),
    ]);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200, {
      timeoutMs: 10_000,
      message: 'sidecar ready',
    });

    const targets: Target[] = (
      [
        ['direct', `http://127.0.0.1:${upPort}`],
        ['minimal', `http://127.0.0.1:${minPort}`],
        ['sidecar', `http://127.0.0.1:${scPort}`],
      ] as const
    ).map(([name, url]) => ({ name, url, pool: new Pool(url, { connections: 128 }) }));

    // Warm-up at the highest measured rate: JIT tiers, pools and keep-alive connections settle before any window
    // is measured (a 1 s warm-up at 200 rps left both proxies with a tail of tens of ms in the first window).
    const warmRate = Math.max(200, ...rates);
    await fixedRate(targets, warmRate, 2, false);
    await fixedRate(targets, warmRate, 2, true);
    const runs: Record<string, unknown>[] = [];
    for (const stream of [false, true]) {
      for (const rps of rates) {
        const { lat, last, errors } = await fixedRate(targets, rps, seconds, stream);
        const measures = stream
          ? ([
              ['stream-ttfb', lat],
              ['stream-ttlb', last],
            ] as const)
          : ([['json', lat]] as const);
        for (const [mode, by] of measures) {
          const d = by.get('direct')!;
          const row: Record<string, unknown> = { mode, rps, seconds, errors };
          for (const t of targets) {
            const x = by.get(t.name)!;
            row[t.name] = { n: x.length, p50: ms(pct(x, 50)), p90: ms(pct(x, 90)), p99: ms(pct(x, 99)) };
            if (t.name !== 'direct')
              row[`${t.name}Overhead`] = {
                p50: ms(pct(x, 50) - pct(d, 50)),
                p90: ms(pct(x, 90) - pct(d, 90)),
                p99: ms(pct(x, 99) - pct(d, 99)),
              };
          }
          runs.push(row);
          const so = row.sidecarOverhead as { p50: number; p99: number };
          const mo = row.minimalOverhead as { p50: number; p99: number };
          console.log(
            `${mode.padEnd(11)} ${String(rps).padStart(4)} rps  overhead p50/p99 ms: sidecar ${so.p50}/${so.p99}  minimal ${mo.p50}/${mo.p99}  errors ${errors}`,
          );
        }
      }
    }
    // Closed loop, alternating (sidecar, minimal, sidecar, minimal) so a burst of load from elsewhere on the
    // machine does not land on one of them only; best of each. CPU seconds per request come from /proc and
    // are much less sensitive to that noise than rates are, so they are the steadier comparison of the two paths.
    const peakSeconds = Math.max(3, Math.min(seconds, 6));
    const peakRps = { sidecar: 0, minimal: 0 };
    const streamPeakRps = { sidecar: 0, minimal: 0 };
    const cpuPerRequestUs = {
      json: { sidecar: Infinity, minimal: Infinity },
      stream: { sidecar: Infinity, minimal: Infinity },
    };
    for (const stream of [false, true]) {
      const rpsOf = stream ? streamPeakRps : peakRps;
      const cpuOf = cpuPerRequestUs[stream ? 'stream' : 'json'];
      for (let round = 0; round < 2; round++) {
        for (const [name, i, proc] of [
          ['sidecar', 2, sidecarProc],
          ['minimal', 1, minimalProc],
        ] as const) {
          const cpu0 = cpuSeconds(proc.pid!);
          const { rps, requests } = await peak(targets[i]!.url, peakSeconds, stream);
          const cpu = cpuSeconds(proc.pid!) - cpu0;
          rpsOf[name] = Math.max(rpsOf[name], rps);
          cpuOf[name] = Math.min(cpuOf[name], Math.round((cpu / requests) * 1e6));
        }
      }
      const mode = stream ? 'streaming' : 'non-streaming';
      console.log(
        `peak rps, ${mode} (closed loop, 32 connections, one process each, best of 2): sidecar ${rpsOf.sidecar}, minimal ${rpsOf.minimal}`,
      );
      console.log(
        `CPU per request, ${mode} (user+sys, best of 2): sidecar ${cpuOf.sidecar} us, minimal ${cpuOf.minimal} us`,
      );
    }
    await Promise.all(targets.map((t) => t.pool.close()));
    const sidecarSelfReported = await selfReported(`http://127.0.0.1:${adminPort}`);
    console.log(
      `sidecar self-reported overhead: ${(sidecarSelfReported.shareUnder1ms! * 100).toFixed(2)}% of requests under 1 ms`,
    );
    const result = {
      bench: 'proxy',
      at: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadavg: os.loadavg(),
      units: 'ms',
      runs,
      peakRps,
      streamPeakRps,
      cpuPerRequestUs,
      sidecarSelfReported,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/proxy.json', `${JSON.stringify(result, null, 2)}\n`);
    console.log('wrote bench/results/proxy.json');
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await redis.stop();
  }
}

if (argOf('role') === 'upstream') runUpstream(Number(argOf('port')));
else await main();
