import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createApp, initApp } from '../src/app.factory.js';
import { loadConfig } from '../src/config/config.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { freePort } from '../tools/local-stack/ports.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';

/*
 * Rate limits (issue 10): per user for messages and for new conversations, per client address for
 * public routes; 429 with Retry-After and `rate_limited`. With REDIS_URL (the machine's Redis) the
 * counters are shared, so a limit holds across API tasks; without Redis reachable, each task still
 * limits on its own and nothing fails.
 */
const LIMITS = { RATE_LIMIT_MESSAGES_PER_MINUTE: '6', RATE_LIMIT_NEW_CONVERSATIONS_PER_HOUR: '2', RATE_LIMIT_PUBLIC_PER_MINUTE: '3' };
const REDIS_URL = 'redis://127.0.0.1:6379';

let stack: ApiStack;
let redisApp: NestFastifyApplication;
let deadRedisApp: NestFastifyApplication;

beforeAll(async () => {
  stack = await startApiStack({ env: { STREAM_EMULATOR: 'off', ...LIMITS } });
  // More "tasks" on the same table, database and pool: one counting in Redis, one whose Redis is unreachable.
  redisApp = await createApp(loadConfig({ ...envOf(stack), REDIS_URL }), { logger: false });
  await initApp(redisApp);
  deadRedisApp = await createApp(loadConfig({ ...envOf(stack), REDIS_URL: `redis://127.0.0.1:${await freePort()}` }), { logger: false });
  await initApp(deadRedisApp);
});

afterAll(async () => {
  await redisApp?.close();
  await deadRedisApp?.close();
  await stack?.stop();
});

function envOf(s: ApiStack): Record<string, string> {
  return { ...s.env, STREAM_EMULATOR: 'off', ...LIMITS };
}

async function users(n: number): Promise<{ user: TestUser; token: string }[]> {
  const created = await Promise.all(Array.from({ length: n }, () => stack.createUser()));
  return Promise.all(created.map(async (user) => ({ user, token: await stack.accessToken(user) })));
}

const send = (app: NestFastifyApplication, token: string, body: object) =>
  request(app.getHttpServer()).post('/api/messages').set('Authorization', `Bearer ${token}`).send(body);

describe('messages per user', () => {
  it('answers 429 with Retry-After and rate_limited past the limit, and stores nothing more', async () => {
    const [a, b] = await users(2);
    const { body: start } = await send(stack.app, a.token, { message: 'first', handle: b.user.handle });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await send(stack.app, a.token, { message: `reply ${i}`, message_group_uuid: start.message_group_uuid })).status);

    const refused = await send(stack.app, a.token, { message: 'one more', message_group_uuid: start.message_group_uuid });

    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'Too many messages; slow down',
      errors: ['rate_limited'],
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(await stack.repository.listAllMessages(start.message_group_uuid)).toHaveLength(6);
  });

  it('counts each user on their own', async () => {
    const [a, b] = await users(2);
    for (let i = 0; i < 6; i++) await send(stack.app, a.token, { message: `a ${i}`, handle: b.user.handle });

    expect((await send(stack.app, a.token, { message: 'a again', handle: b.user.handle })).status).toBe(429);
    expect((await send(stack.app, b.token, { message: 'b is fine', handle: a.user.handle })).status).toBe(200);
  });
});

describe('new conversations per user', () => {
  it('refuses a third new conversation within the hour, while replies in existing ones go on', async () => {
    const [a, b, c, d] = await users(4);
    const first = await send(stack.app, a.token, { message: 'hi b', handle: b.user.handle });
    const second = await send(stack.app, a.token, { message: 'hi c', handle: c.user.handle });

    const third = await send(stack.app, a.token, { message: 'hi d', handle: d.user.handle });
    const reply = await send(stack.app, a.token, { message: 'still b', handle: b.user.handle });

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ errors: ['rate_limited'], message: 'Too many new conversations; try again later' });
    expect(reply.status).toBe(200);
    expect(await stack.repository.listAllConversations(d.user.uuid)).toEqual([]);
  });
});

describe('public routes per client address', () => {
  it('answers 429 past the limit, without a token', async () => {
    const [a] = await users(1);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(stack.app.getHttpServer()).get(`/api/users/@${a.user.handle}/short`)).status);

    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('limits the readiness checks too (each one calls DynamoDB and Postgres), never the liveness check', async () => {
    // A task of its own (counting in memory): the counts of the route above do not mix in.
    const server = deadRedisApp.getHttpServer();
    const ready: number[] = [];
    for (let i = 0; i < 4; i++) ready.push((await request(server).get(i % 2 ? '/api/health' : '/api/health/ready')).status);
    const live: number[] = [];
    for (let i = 0; i < 5; i++) live.push((await request(server).get('/api/health/live')).status);

    expect(ready).toEqual([200, 200, 200, 429]);
    expect(live).toEqual([200, 200, 200, 200, 200]);
  });
});

describe('across API tasks (Redis)', () => {
  it('holds one limit for a user whose requests alternate between two tasks', async () => {
    const [a, b] = await users(2);
    const secondTask = await createApp(loadConfig({ ...envOf(stack), REDIS_URL }), { logger: false });
    await initApp(secondTask);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push((await send(i % 2 ? secondTask : redisApp, a.token, { message: `m${i}`, handle: b.user.handle })).status);

      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    } finally {
      await secondTask.close();
    }
  });

  it('still limits, per task, and never fails a request while Redis is unreachable', async () => {
    const [a, b] = await users(2);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await send(deadRedisApp, a.token, { message: `m${i}`, handle: b.user.handle })).status);

    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
  });
});
