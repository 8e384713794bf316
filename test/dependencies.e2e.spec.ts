import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

/*
 * Dependencies made unreachable mid-test through proxies this file controls: the app talks to
 * Postgres and DynamoDB only through them.
 */
let stack: ApiStack;
let pgProxy: TcpProxy;
let dynamoProxy: TcpProxy;
let alice: TestUser;
let bob: TestUser;
let aliceToken: string;

beforeAll(async () => {
  stack = await startApiStack({
    databaseUrl: async (db) => {
      const proxied = await TcpProxy.forUrl(db.url);
      pgProxy = proxied.proxy;
      return proxied.url;
    },
    dynamodbEndpoint: async (endpoint) => {
      const target = new URL(endpoint);
      dynamoProxy = await TcpProxy.start(target.hostname, Number(target.port));
      return `http://127.0.0.1:${dynamoProxy.port}`;
    },
  });
  [alice, bob] = await Promise.all([stack.createUser('alice'), stack.createUser('bob')]);
  aliceToken = await stack.accessToken(alice);
});

afterAll(async () => {
  await stack?.stop(); // first: its shutdown drains the stream emulator through the proxies
  await pgProxy?.stop();
  await dynamoProxy?.stop();
});

const api = () => request(stack.app.getHttpServer());

describe('Postgres unreachable', () => {
  it('keeps the task live (200) while it is not ready (503): a database failover must not get the fleet replaced', async () => {
    await pgProxy.cut();

    const [live, ready, health] = [
      await api().get('/api/health/live'),
      await api().get('/api/health/ready'),
      await api().get('/api/health'),
    ];

    expect(live.status).toBe(200);
    expect(ready.status).toBe(503);
    expect(ready.body.error.postgres.status).toBe('down');
    expect(health.status).toBe(503);

    await pgProxy.restore();

    expect((await api().get('/api/health/ready')).status).toBe(200);
  });

  it('answers 503 (never 500) and recovers once Postgres is back', async () => {
    const bobToken = await stack.accessToken(bob);
    await pgProxy.cut();

    const health = await api().get('/api/health');
    const profile = await api().get('/api/users/@alice/short');
    const uncachedUser = await api().get('/api/message_groups').set('Authorization', `Bearer ${bobToken}`);

    expect(health.status).toBe(503);
    expect(health.body.error.postgres.status).toBe('down');
    expect(health.body.info.dynamodb.status).toBe('up');
    expect(profile.status).toBe(503);
    expect(profile.headers['retry-after']).toBe('1');
    expect(profile.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.any(String) });
    expect(uncachedUser.status).toBe(503);

    await pgProxy.restore();

    expect((await api().get('/api/health')).status).toBe(200);
    expect((await api().get('/api/users/@alice/short')).status).toBe(200);
    expect((await api().get('/api/message_groups').set('Authorization', `Bearer ${bobToken}`)).status).toBe(200);
  });
});

describe('DynamoDB unreachable', () => {
  it('answers 503, stores nothing, and recovers once DynamoDB is back', async () => {
    const auth = { Authorization: `Bearer ${aliceToken}` };
    await dynamoProxy.cut();

    const health = await api().get('/api/health');
    const list = await api().get('/api/message_groups').set(auth);
    const send = await api().post('/api/messages').set(auth).send({ message: 'lost?', handle: bob.handle });

    expect(health.status).toBe(503);
    expect(health.body.error.dynamodb.status).toBe('down');
    expect((await api().get('/api/health/live')).status).toBe(200);
    expect((await api().get('/api/health/ready')).status).toBe(503);
    expect(list.status).toBe(503);
    expect(send.status).toBe(503);

    await dynamoProxy.restore();

    expect((await api().get('/api/message_groups').set(auth)).body).toEqual([]);
    const retry = await api().post('/api/messages').set(auth).send({ message: 'delivered', handle: bob.handle });
    expect(retry.status).toBe(200);
    expect((await stack.repository.listAllMessages(retry.body.message_group_uuid)).map((m) => m.message)).toEqual(['delivered']);
  });
});
