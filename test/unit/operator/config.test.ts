import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseOperatorConfig } from '../../../operator/config.js';
import { OperatorError } from '../../../operator/errors.js';

describe('parseOperatorConfig', () => {
  it('reads the Redis CA file at start and takes --redis-cluster bare or from env', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mr-ca-'));
    try {
      const ca = join(dir, 'ca.pem');
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      writeFileSync(ca, pem);
      const c = parseOperatorConfig(['--redis-cluster', '--redis-ca', ca], { MODELROUTE_REDIS_URL: 'rediss://r:6380' });
      expect(c).toMatchObject({ redisCA: pem, redisCluster: true });
      expect(
        parseOperatorConfig([], { MODELROUTE_REDIS_URL: 'redis://r', MODELROUTE_REDIS_CLUSTER: 'true' }).redisCluster,
      ).toBe(true);
      expect(() =>
        parseOperatorConfig(['--redis-ca', join(dir, 'none.pem'), '--redis-cluster=maybe'], {
          MODELROUTE_REDIS_URL: 'redis://r',
        }),
      ).toThrow(
        new RegExp(
          `--redis-ca: cannot read '${join(dir, 'none.pem')}': ENOENT[\\s\\S]*--redis-ca needs a rediss:// URL[\\s\\S]*--redis-cluster: 'maybe' must be true or false`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads flags and env with defaults', () => {
    const c = parseOperatorConfig(['--namespaces', 'a,b', '--leader-elect', '--lease-duration=3s'], {
      MODELROUTE_REDIS_URL: 'redis://127.0.0.1:6379',
      KUBECONFIG: '/tmp/kc',
    });
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.kubeconfig).toBe('/tmp/kc');
    expect(c.namespaces).toEqual(['a', 'b']);
    expect(c.leaderElect).toBe(true);
    expect(c.leaseDurationMs).toBe(3000);
    expect(c.renewDeadlineMs).toBeLessThan(3000);
    expect(c.retryPeriodMs).toBeLessThan(c.renewDeadlineMs);
    expect(c.admin).toEqual({ host: '127.0.0.1', port: 15600 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      parseOperatorConfig(
        ['--bogus', '--admin', 'nope', '--lease-duration', '5x', '--namespaces', 'Bad_NS', '--concurrency', '0'],
        {},
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).code).toBe('ERR_OPERATOR_CONFIG');
    const msg = (err as Error).message;
    for (const part of [
      'unknown flag --bogus',
      '--redis (or MODELROUTE_REDIS_URL) is required',
      "--admin: 'nope'",
      "--lease-duration: '5x'",
      "'Bad_NS'",
      "--concurrency: '0'",
    ]) {
      expect(msg).toContain(part);
    }
  });

  it('rejects a renew deadline not shorter than the lease', () => {
    expect(() =>
      parseOperatorConfig(['--redis', 'redis://x', '--lease-duration', '2s', '--renew-deadline', '2s'], {}),
    ).toThrow(/--renew-deadline must be shorter than --lease-duration/);
  });

  it.each([
    ['500ms', 500],
    ['15s', 15000],
    ['2m', 120000],
    ['1.5s', 1500],
    ['10', undefined],
  ])('parseDuration(%s) = %s', (s, ms) => expect(parseDuration(s)).toBe(ms));
});
