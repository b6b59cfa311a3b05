import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { waitFor } from '../../helpers/wait.js';

// A server must not outlive the process that started it, even when that process is SIGKILLed
// (as jest does to a worker that will not exit): the watchdog in processes.ts kills it.
function gone(pid: number): boolean {
  try {
    // A zombie waiting for init to reap it is dead too.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
  } catch {
    return true;
  }
}

describe('child processes of the helpers', () => {
  const script = join(tmpdir(), `modelroute-orphan-${process.pid}.mts`);
  afterEach(() => rmSync(script, { force: true }));

  it('die when their parent is SIGKILLed', async () => {
    writeFileSync(
      script,
      `import { startRedis } from ${JSON.stringify(resolve('test/helpers/redis.ts'))};\n` +
        `import { managedPids } from ${JSON.stringify(resolve('test/helpers/processes.ts'))};\n` +
        `await startRedis();\n` +
        `console.log(managedPids().join(','));\n` +
        `setInterval(() => undefined, 1000);\n`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((done) => createInterface({ input: parent.stdout }).once('line', done));
    const redisPid = Number(line);
    expect(redisPid).toBeGreaterThan(0);
    expect(gone(redisPid)).toBe(false);

    parent.kill('SIGKILL');

    await waitFor(() => gone(redisPid), { timeoutMs: 10_000, message: `redis-server ${redisPid} to die` });
  });
});
