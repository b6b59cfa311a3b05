import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseSidecarConfig } from '../../../sidecar/config.js';

const key = Buffer.alloc(32, 7).toString('base64');

describe('parseSidecarConfig', () => {
  test('flags win over env; defaults fill the rest; the result is frozen', () => {
    const c = parseSidecarConfig(['--redis', 'redis://r:6379', '--body-limit=512k', '--state-file', '/tmp/s.json'], {
      POD_NAMESPACE: 'team-a',
      MODELROUTE_REDIS_URL: 'redis://ignored',
      MODELROUTE_DATA_KEY: key,
    });
    expect(c).toMatchObject({
      listen: { host: '127.0.0.1', port: 15500 },
      admin: { host: '127.0.0.1', port: 15501 },
      redisURL: 'redis://r:6379',
      namespace: 'team-a',
      bodyLimit: 512 * 1024,
      stateFile: '/tmp/s.json',
    });
    expect(c.dataKey).toEqual(Buffer.alloc(32, 7));
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('every problem is reported at once', () => {
    let err: unknown;
    try {
      parseSidecarConfig(
        ['--listen', 'localhost', '--admin', '127.0.0.1:99999', '--body-limit', 'lots', '--nope', '--flush-ms', '-1'],
        { MODELROUTE_DATA_KEY: 'c2hvcnQ=' },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'unknown flag --nope',
      "--listen must be host:port, got 'localhost'",
      "--admin must be host:port, got '127.0.0.1:99999'",
      '--redis (or MODELROUTE_REDIS_URL) is required',
      '--namespace (or POD_NAMESPACE) is required',
      "--body-limit must be a size of at least 1k (e.g. 512k, 4m), got 'lots'",
      "--flush-ms must be an integer >= 50, got '-1'",
      'MODELROUTE_DATA_KEY must be base64 of 32 bytes, got 5',
    ]);
  });

  test('a key file is read when needed: absent at start, then raw bytes or base64 once mounted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mr-key-'));
    try {
      const file = join(dir, 'key');
      const c = parseSidecarConfig(['--redis', 'redis://r:6379', '--namespace', 'a'], {
        MODELROUTE_DATA_KEY_FILE: file,
      });
      const source = c.dataKey as () => Buffer | undefined;
      expect(typeof source).toBe('function');
      expect(source()).toBeUndefined();
      writeFileSync(file, Buffer.alloc(32, 9));
      expect(source()).toEqual(Buffer.alloc(32, 9));
      writeFileSync(file, Buffer.alloc(32, 3).toString('base64') + '\n');
      expect(source()).toEqual(Buffer.alloc(32, 3));
      writeFileSync(file, 'short');
      expect(source()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Redis: --redis-ca is read at start; --redis-cluster as a bare flag, a value or env; stream caps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mr-ca-'));
    try {
      const ca = join(dir, 'ca.pem');
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      writeFileSync(ca, pem);
      const c = parseSidecarConfig(
        ['--redis', 'rediss://r:6380', '--namespace', 'a', '--redis-ca', ca, '--redis-cluster'],
        {},
      );
      expect(c).toMatchObject({ redisCA: pem, redisCluster: true, maxStreamsPerClient: 256, maxStreams: 0 });
      const e = parseSidecarConfig(['--namespace', 'a', '--max-streams-per-client=0'], {
        MODELROUTE_REDIS_URL: 'redis://r:6379',
        MODELROUTE_REDIS_CLUSTER: 'false',
        MODELROUTE_MAX_STREAMS: '1000',
      });
      expect(e).toMatchObject({ redisCluster: false, maxStreamsPerClient: 0, maxStreams: 1000 });
      expect(e.redisCA).toBeUndefined();

      const notPem = join(dir, 'x.txt');
      writeFileSync(notPem, 'hello');
      const problems = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
        try {
          parseSidecarConfig(['--namespace', 'a', ...argv], env);
        } catch (err) {
          return (err as ConfigError).problems;
        }
        return [];
      };
      expect(problems(['--redis', 'rediss://r', `--redis-ca=${join(dir, 'none.pem')}`])).toEqual([
        `--redis-ca: cannot read '${join(dir, 'none.pem')}': ENOENT`,
      ]);
      expect(problems(['--redis', 'rediss://r'], { MODELROUTE_REDIS_CA_FILE: notPem })).toEqual([
        `--redis-ca: '${notPem}' holds no PEM certificate`,
      ]);
      expect(
        problems(['--redis', 'redis://r', '--redis-ca', ca, '--redis-cluster=yes', '--max-streams', '-1']),
      ).toEqual([
        "--redis-cluster must be true or false, got 'yes'",
        "--max-streams must be an integer >= 0, got '-1'",
        '--redis-ca needs a rediss:// URL in --redis',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
