/**
 * `npm run bench [-- --smoke] [--only a,b] [--out DIR] [--operator-routes 5000]`: every benchmark on loopback, each in its own process
 * group with a time bound, then bench/results/latest.json and latest.md (figure, value, baseline from the same
 * run, ratio, target, met?). `--smoke` runs seconds-long versions and asserts no target.
 *
 * Sections: proxy, decision, memory, propagation, operator, fanout, economics.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  classifierFigures,
  operatorArgs,
  operatorFigures,
  proxyArgs,
  proxyFigures,
  type ProxyJson,
} from './lib/external.js';
import { figure, toMarkdown, type Machine, type SectionResult, type SuiteReport } from './lib/report.js';
import { argOf } from './lib/section.js';

const root = new URL('../', import.meta.url).pathname;
const smoke = process.argv.includes('--smoke');
const only = argOf('only')
  ?.split(',')
  .map((s) => s.trim());
const outDir = path.resolve(argOf('out') ?? path.join(root, 'bench/results'));
const operatorRoutes = argOf('operator-routes') === undefined ? undefined : Number(argOf('operator-routes'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-run-'));

/** Runs `node --import tsx <args>` in its own process group; kills the whole group past `seconds`. */
function run(name: string, args: string[], seconds: number, env: NodeJS.ProcessEnv = {}, preload: string[] = []) {
  return new Promise<{ code: number | null; timedOut: boolean; seconds: number }>((resolve) => {
    const started = performance.now();
    console.log(`\n== ${name}: ${args.join(' ')} (bound ${seconds} s)`);
    const p = spawn(process.execPath, ['--import', 'tsx', ...preload, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, seconds * 1000);
    const onSignal = () => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    p.on('exit', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve({ code, timedOut, seconds: (performance.now() - started) / 1000 });
    });
  });
}

function failed(
  section: string,
  title: string,
  r: { code: number | null; timedOut: boolean; seconds: number },
  why?: string,
): SectionResult {
  return {
    section,
    title,
    status: r.timedOut ? 'timeout' : 'error',
    seconds: r.seconds,
    figures: [],
    notes: [],
    error: r.timedOut ? `killed after its time bound` : (why ?? `exited with code ${r.code}`),
  };
}

/** A section program of ours: it writes its SectionResult to --result. */
async function ownSection(
  section: string,
  title: string,
  file: string,
  seconds: number,
  extra: string[] = [],
): Promise<SectionResult> {
  const result = path.join(tmp, `${section}.json`);
  const r = await run(section, [file, ...(smoke ? ['--smoke'] : []), ...extra, '--result', result], seconds);
  if (existsSync(result)) {
    const s = JSON.parse(readFileSync(result, 'utf8')) as SectionResult;
    if (r.timedOut) s.status = 'timeout';
    return s;
  }
  return failed(section, title, r);
}

/**
 * A program another issue owns, which writes bench/results/<name>.json. The file is put back as it was
 * afterwards, so a suite run (smoke or full, with its own counts) never replaces its owner's figures.
 */
async function external<T>(
  name: string,
  args: string[],
  seconds: number,
  preload: string[] = [],
  env: NodeJS.ProcessEnv = {},
) {
  const file = path.join(root, `bench/results/${name}.json`);
  const saved = path.join(tmp, `${name}.saved.json`);
  const had = existsSync(file);
  if (had) copyFileSync(file, saved);
  if (had) rmSync(file);
  let r = await run(name, [`bench/${name}.ts`, ...args], seconds, env, preload);
  // These programs pick free ports before their servers bind them; on a busy machine another process can
  // take one in between (EADDRINUSE). One retry, said in the log.
  if (!existsSync(file) && !r.timedOut) {
    console.log(`== ${name}: no result (exit ${r.code}); one retry`);
    r = await run(name, [`bench/${name}.ts`, ...args], seconds, env, preload);
  }
  const out = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
  // Their own result file keeps the figures their owners published (often from longer runs); this run's
  // output lives in latest.json (`raw`).
  if (had) copyFileSync(saved, file);
  else if (out) rmSync(file);
  return { r, out };
}

const SECTIONS: Record<string, { title: string; run: () => Promise<SectionResult> }> = {
  proxy: {
    title: '1. Proxy overhead (sidecar vs minimal Node proxy vs direct)',
    async run() {
      const title = this.title;
      const cpuFile = path.join(tmp, 'proxy-cpu.json');
      const { r, out } = await external<ProxyJson>(
        'proxy',
        proxyArgs(smoke),
        smoke ? 90 : 180,
        ['--import', './bench/lib/cpu-report.ts'],
        {
          BENCH_CPU_REPORT: cpuFile,
        },
      );
      if (!out) return failed('proxy', title, r, `bench/proxy.ts wrote no result (exit ${r.code})`);
      const figures = proxyFigures(out, smoke);
      const notes = [
        'bench/proxy.ts: upstream, minimal proxy and sidecar each in its own process; fixed-rate open loop, the three paths interleaved per tick; added latency = path percentile minus direct percentile.',
        'Streaming: time to first byte (TTFB) and to last byte (TTLB) of the same requests; the sidecar runs with the Node options the webhook injects (SIDECAR_NODE_OPTIONS), the minimal proxy with the defaults.',
      ];
      if (existsSync(cpuFile)) {
        const c = JSON.parse(readFileSync(cpuFile, 'utf8')) as { cpuSeconds: number; wallSeconds: number };
        figures.push(
          figure(
            'load generator CPU (bench/proxy.ts driver, undici + autocannon in one process)',
            (100 * c.cpuSeconds) / c.wallSeconds,
            '% of a core',
          ),
        );
      }
      return {
        section: 'proxy',
        title,
        status: r.code === 0 ? 'ok' : 'error',
        seconds: r.seconds,
        figures,
        notes,
        raw: out,
      };
    },
  },
  decision: {
    title: '2. Decision cost (decide() and classifier)',
    async run() {
      const s = await ownSection('decision', this.title, 'bench/decide.ts', smoke ? 60 : 150);
      const { r, out } = await external<Parameters<typeof classifierFigures>[0]>(
        'classifier',
        smoke ? ['--quick'] : [],
        smoke ? 60 : 120,
      );
      if (out) {
        s.figures.push(...classifierFigures(out));
        s.notes.push('classifier.ts rows: its own run (score() alone; calibration on a drifting MMLU -> GSM8K mix).');
        s.raw = { decide: s.raw, classifier: out };
      } else s.notes.push(`bench/classifier.ts failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}).`);
      s.notes.push('Event-loop delay under load is measured in the sidecar process: see section 3.');
      return s;
    },
  },
  memory: {
    title: '3. Memory (sidecar RSS) and event-loop delay',
    run() {
      return ownSection('memory', this.title, 'bench/memory.ts', smoke ? 90 : 330, smoke ? [] : ['--seconds', '150']);
    },
  },
  propagation: {
    title: '4. Propagation (Redis -> sidecar, kubectl apply -> sidecar)',
    run() {
      return ownSection(
        'propagation',
        this.title,
        'bench/propagation.ts',
        smoke ? 150 : 240,
        smoke ? [] : ['--kube-updates', '10'],
      );
    },
  },
  operator: {
    title: '5. Operator scale (cold start, Redis memory per route)',
    async run() {
      const title = this.title;
      const args = operatorArgs(smoke, operatorRoutes);
      const bound = smoke ? 150 : 300 + Math.max(0, (operatorRoutes ?? 1000) - 1000) * 0.2;
      const { r, out } = await external<Parameters<typeof operatorFigures>[0]>('operator', args, bound);
      if (!out) return failed('operator', title, r, `bench/operator.ts wrote no result (exit ${r.code})`);
      return {
        section: 'operator',
        title,
        status: r.code === 0 ? 'ok' : 'error',
        seconds: r.seconds,
        figures: operatorFigures(out, smoke),
        notes: [
          `bench/operator.ts ${args.join(' ')}: private apiserver + etcd + Redis; half the routes use a credential Secret.` +
            (operatorRoutes === undefined
              ? ' 5,000 routes are not run by default (about 4 minutes on 2 cores): `npm run bench -- --only operator --operator-routes 5000`.'
              : ''),
        ],
        raw: out,
      };
    },
  },
  fanout: {
    title: '6. Fan-out (N table watchers on one Redis)',
    run() {
      return ownSection('fanout', this.title, 'bench/fanout.ts', smoke ? 60 : 180);
    },
  },
  economics: {
    title: '7. Router economics (modelroute eval on the dev sets)',
    run() {
      return ownSection('economics', this.title, 'bench/economics.ts', smoke ? 60 : 120);
    },
  },
};

function machine(): Machine {
  const model = /model name\s*:\s*(.*)/.exec(
    existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '',
  )?.[1];
  return {
    nproc: os.availableParallelism(),
    cpuModel: model ?? os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavgAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    totalMemMB: Math.round(os.totalmem() / 2 ** 20),
    note:
      process.env.BENCH_MACHINE_NOTE ??
      'Load average above the core count means other work shared the machine: absolute figures are inflated; read the ratios.',
  };
}

const unknown = only?.filter((s) => !(s in SECTIONS)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown section(s): ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
const started = performance.now();
const report: SuiteReport = {
  at: new Date().toISOString(),
  command: `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
  smoke,
  machine: machine(),
  seconds: 0,
  sections: [],
};
for (const [name, s] of Object.entries(SECTIONS)) {
  if (only && !only.includes(name)) continue;
  report.sections.push(await s.run());
}
// Redis memory per route is measured where the 1,000 tables are written (section 3); section 5 shows it too.
const mem = report.sections
  .find((s) => s.section === 'memory')
  ?.figures.find((f) => f.name.startsWith('Redis memory per route'));
const op = report.sections.find((s) => s.section === 'operator');
if (mem && op) {
  op.figures.push(mem);
  op.notes.push(
    'Redis memory per route: INFO used_memory delta over the tables written in section 3, divided by their number.',
  );
}
report.seconds = (performance.now() - started) / 1000;
report.machine.loadavgAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(path.join(outDir, 'latest.md'), toMarkdown(report));
rmSync(tmp, { recursive: true, force: true });
const bad = report.sections.filter((s) => s.status !== 'ok');
console.log(`\nwrote ${path.join(outDir, 'latest.json')} and latest.md in ${Math.round(report.seconds)} s`);
const missed = report.sections.flatMap((s) =>
  s.figures.filter((f) => f.met === false).map((f) => `${s.section}: ${f.name}`),
);
if (missed.length > 0) console.log(`targets missed:\n  ${missed.join('\n  ')}`);
if (bad.length > 0) console.log(`sections not ok: ${bad.map((s) => `${s.section} (${s.status})`).join(', ')}`);
process.exitCode = bad.length > 0 ? 1 : 0;
