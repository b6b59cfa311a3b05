import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis, type RedisOptions } from 'ioredis';
import { sharedRedis, startRedis, type RedisServer } from '../../helpers/control-plane.js';

const clients: Redis[] = [];
function connect(server: Pick<RedisServer, 'url' | 'ca'>, extra: RedisOptions = {}): Redis {
  const client = new Redis(server.url, {
    maxRetriesPerRequest: 1,
    ...(server.ca ? { tls: { ca: server.ca } } : {}),
    ...extra,
  });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

afterEach(async () => {
  // quit() on a client that is already closed would leave ioredis' 2 s disconnect timer running.
  const open = clients.splice(0).filter((client) => client.status !== 'end');
  await Promise.all(open.map((client) => client.quit().catch(() => client.disconnect())));
});

describe('redis-server (shared)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await sharedRedis();
  });

  it('round-trips SET and GET', async () => {
    const redis = connect(server);

    await redis.set('smoke:redis:key', 'value', 'EX', 60);

    expect(await redis.get('smoke:redis:key')).toBe('value');
  });

  it('delivers a PUBLISH to a subscriber', async () => {
    const subscriber = connect(server);
    const publisher = connect(server);
    const received = new Promise<[string, string]>((resolve) => {
      subscriber.on('message', (channel: string, message: string) => resolve([channel, message]));
    });
    await subscriber.subscribe('smoke:redis:channel');

    const receivers = await publisher.publish('smoke:redis:channel', 'hello');

    expect(receivers).toBe(1);
    await expect(received).resolves.toEqual(['smoke:redis:channel', 'hello']);
  });
});

describe('redis-server (private, password and TLS)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ password: 's3cret:/@', tls: true });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves rediss:// with the password carried by the url', async () => {
    expect(server.url).toMatch(/^rediss:\/\/:s3cret%3A%2F%40@127\.0\.0\.1:\d+$/);
    expect(server.ca).toContain('BEGIN CERTIFICATE');

    const redis = connect(server);

    expect(await redis.ping()).toBe('PONG');
  });

  it('refuses clients without the password or with a wrong one', async () => {
    const url = new URL(server.url);
    url.password = '';
    const redis = connect({ url: url.toString(), ca: server.ca }, { enableReadyCheck: false });

    await expect(redis.ping()).rejects.toThrow(/NOAUTH/);
    await expect(redis.auth('wrong')).rejects.toThrow(/WRONGPASS/);
  });

  it('keeps its data across kill() and restart() on the same port', async () => {
    const redis = connect(server);
    // Redis write()s the AOF before it replies, so an acknowledged write survives a SIGKILL.
    await redis.set('survives', 'yes');
    await redis.quit();

    await server.kill();
    await server.restart();

    expect(await connect(server).get('survives')).toBe('yes');
  });
});
