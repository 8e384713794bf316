import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../src/app.factory.js';
import { loadConfig } from '../src/config/config.js';
import { Redis } from 'ioredis';
import { LiveEventBus } from '../src/live/live-event.bus.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';
import { SseClient } from './support/sse-client.js';

/*
 * Live delivery across API tasks (issue 13): two API processes' apps on the machine's Redis. Each
 * app's change-capture emulator publishes the messages written through it, as the Lambda publishes
 * every message on AWS; every app holds streams and takes the events of its own streams' users.
 */
const REDIS_URL = 'redis://127.0.0.1:6379';

let stack: ApiStack;
let one: NestFastifyApplication;
let two: NestFastifyApplication;
const tokens = new Map<string, string>();
const clients: SseClient[] = [];

async function start(): Promise<NestFastifyApplication> {
  const app = await createApp(loadConfig({ ...stack.env, REDIS_URL, STREAM_EMULATOR: 'on' }), { logger: false });
  await app.listen(0, '127.0.0.1');
  await app.get(LiveEventBus).whenLive();
  return app;
}

beforeAll(async () => {
  stack = await startApiStack({ env: { STREAM_EMULATOR: 'off' } });
  [one, two] = [await start(), await start()];
});

afterAll(async () => {
  for (const client of clients) client.close();
  await one?.close();
  await two?.close();
  await stack?.stop();
});

const url = (app: NestFastifyApplication, path: string) =>
  `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/api${path}`;

async function users(n: number): Promise<TestUser[]> {
  const created = await Promise.all(Array.from({ length: n }, () => stack.createUser()));
  for (const user of created) tokens.set(user.uuid, await stack.accessToken(user));
  return created;
}

async function connect(app: NestFastifyApplication, user: TestUser): Promise<SseClient> {
  const client = await SseClient.open(url(app, '/events'), { Authorization: `Bearer ${tokens.get(user.uuid)}` });
  clients.push(client);
  await client.until(() => client.lastEventId !== undefined, 'the first event');
  return client;
}

describe('two API tasks on Redis', () => {
  it('delivers a message posted through one task to a subscriber on the other, and nothing of it to an outsider there', async () => {
    const [alice, bob, eve] = await users(3);
    const [bobOnTwo, eveOnTwo] = [await connect(two, bob), await connect(two, eve)];

    const res = await request(one.getHttpServer())
      .post('/api/messages')
      .set('Authorization', `Bearer ${tokens.get(alice.uuid)}`)
      .send({ message: 'across tasks', handle: bob.handle });
    expect(res.status).toBe(200);
    await bobOnTwo.until(() => bobOnTwo.data('message_group').length > 0, "bob's list item");
    // Eve's own message afterwards, through the first task: once it is in, anything else for her came before it.
    const own = await request(one.getHttpServer())
      .post('/api/messages')
      .set('Authorization', `Bearer ${tokens.get(eve.uuid)}`)
      .send({ message: 'mine', handle: alice.handle });
    await eveOnTwo.until(() => eveOnTwo.data('message').length > 0, "eve's own message");

    expect(bobOnTwo.data('message')).toEqual([expect.objectContaining({ uuid: res.body.uuid, message: 'across tasks' })]);
    expect(eveOnTwo.data<{ uuid: string }>('message').map((m) => m.uuid)).toEqual([own.body.uuid]);
    expect(JSON.stringify(eveOnTwo.events)).not.toContain(res.body.message_group_uuid);
  });

  it('redeems a ticket issued by one task on the other, once', async () => {
    const [alice] = await users(1);
    const issued = await request(one.getHttpServer())
      .post('/api/events/ticket')
      .set('Authorization', `Bearer ${tokens.get(alice.uuid)}`);

    const first = await SseClient.open(url(two, `/events?ticket=${issued.body.ticket}`));
    const second = await SseClient.open(url(one, `/events?ticket=${issued.body.ticket}`));
    clients.push(first, second);

    expect(first.status).toBe(200);
    expect(second.status).toBe(401);
    expect(await second.json()).toMatchObject({ errors: ['ticket_invalid'] });
  });

  it('closes its streams with retry advice when its Redis subscription was lost (events may be missing), and serves them again once back', async () => {
    const [alice] = await users(1);
    const client = await connect(two, alice);
    const admin = new Redis(REDIS_URL);
    try {
      // Redis drops the tasks' subscribing connections (as a failover would); they reconnect by themselves.
      const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const ids = list
        .split('\n')
        .filter((line) => line.includes(' name=cruddur-messaging-live '))
        .map((line) => /^id=(\d+)/.exec(line)![1]);
      expect(ids.length).toBeGreaterThanOrEqual(2);
      for (const id of ids) await admin.call('CLIENT', 'KILL', 'ID', id);
      await client.until(() => client.ended, 'the end of the stream');
      await two.get(LiveEventBus).whenLive();

      expect(client.events.filter((e) => e.retry !== undefined).map((e) => e.retry)).toEqual([3000, 3000]);
      expect(client.events.some((e) => e.comment === 'bus reconnected')).toBe(true);
      const again = await connect(two, alice);
      expect(again.status).toBe(200);
    } finally {
      admin.disconnect();
    }
  });
});
