/**
 * Preloaded into a benchmark driver we do not own (`node --import tsx --import ./bench/lib/cpu-report.ts`),
 * so the suite can state how much CPU the load generator itself took: at exit it writes its CPU time and
 * wall time to $BENCH_CPU_REPORT.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_CPU_REPORT;
const started = performance.now();
if (file) {
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    writeFileSync(
      file,
      JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: (performance.now() - started) / 1000 }),
    );
  });
}
