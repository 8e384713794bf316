import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp } from '../src/app.factory.js';
import { loadConfig } from '../src/config/config.js';
import { LiveEventBus } from '../src/live/live-event.bus.js';
import { LiveStreamsService } from '../src/live/live-streams.service.js';
import { ChangeCaptureEmulator } from '../src/stream/change-capture.emulator.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';
import { SseClient } from './support/sse-client.js';
import { decodeJwtPayload, emulatorSigningKey, signJwt } from './support/tokens.js';

/*
 * Live delivery (issue 13) over real HTTP on one API task with the in-process bus: the change-capture
 * emulator plays the stream consumer that publishes every message, as the Lambda does on AWS.
 */
const LIVE = { LIVE_HEARTBEAT_SECONDS: '1', LIVE_MAX_STREAMS_PER_USER: '3', LIVE_BUFFER_EVENTS: '16' };

let stack: ApiStack;
let base: string;
const tokens = new Map<string, string>();
const open: SseClient[] = [];

beforeAll(async () => {
  stack = await startApiStack({ env: LIVE });
  await stack.app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(stack.app.getHttpServer().address() as AddressInfo).port}/api`;
  // A third writer beside the API's two users: a script writing through its own repository.
  stack.app.get(ChangeCaptureEmulator).watch(stack.repository);
});

afterAll(async () => {
  for (const client of open) client.close();
  await stack?.stop();
});

const api = () => request(stack.app.getHttpServer());
const auth = (user: TestUser) => ({ Authorization: `Bearer ${tokens.get(user.uuid)}` });
const streams = () => stack.app.get(LiveStreamsService);

async function users(n: number): Promise<TestUser[]> {
  const created = await Promise.all(Array.from({ length: n }, () => stack.createUser()));
  for (const user of created) tokens.set(user.uuid, await stack.accessToken(user));
  return created;
}

async function connect(user: TestUser, headers: Record<string, string> = {}, query = ''): Promise<SseClient> {
  const client = await SseClient.open(`${base}/events${query}`, { ...auth(user), ...headers });
  open.push(client);
  if (client.status === 200) await client.until(() => client.lastEventId !== undefined, 'the first event');
  return client;
}

async function send(from: TestUser, body: object): Promise<{ message_group_uuid: string; uuid: string; created_at: string }> {
  const res = await api().post('/api/messages').set(auth(from)).send(body);
  expect(res.status).toBe(200);
  return res.body;
}

const messagesOf = (client: SseClient) => client.data<{ uuid: string; message_group_uuid: string; message: string }>('message');

describe('GET /api/events', () => {
  it('opens with an id and retry advice, then keeps the connection alive with comment heartbeats', async () => {
    const [alice] = await users(1);

    const client = await connect(alice);
    await client.until(() => client.events.filter((e) => e.type === 'comment' && e.comment === '').length >= 1, 'a heartbeat', 5_000);

    expect(client.response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(client.events.find((e) => e.retry !== undefined)).toMatchObject({ retry: 3000, id: expect.stringMatching(/^[0-9a-z]+$/) });
    client.close();
  });

  it("pushes a new message to both members' streams, with each one's list item, and nothing to an outsider", async () => {
    const [alice, bob, eve, dave] = await users(4);
    const [a, b, e] = [await connect(alice), await connect(bob), await connect(eve)];

    const sent = await send(alice, { message: 'hello live', handle: bob.handle });
    await a.until(() => a.data('message_group').length > 0, "alice's list item");
    await b.until(() => b.data('message_group').length > 0, "bob's list item");
    // The outsider's stream is quiet: a message of their own arrives, and nothing came before it.
    const own = await send(eve, { message: 'of her own', handle: dave.handle });
    await e.until(() => messagesOf(e).length > 0, "eve's own message");

    for (const client of [a, b]) {
      expect(messagesOf(client)).toEqual([
        {
          message_group_uuid: sent.message_group_uuid,
          uuid: sent.uuid,
          display_name: alice.display_name,
          handle: alice.handle,
          message: 'hello live',
          created_at: sent.created_at,
        },
      ]);
    }
    expect(b.data('message_group')[0]).toMatchObject({
      uuid: sent.message_group_uuid,
      handle: alice.handle,
      message: 'hello live',
      created_at: sent.created_at,
      unread_count: 1,
    });
    expect(a.data('message_group')[0]).toMatchObject({ uuid: sent.message_group_uuid, handle: bob.handle, unread_count: 0 });
    expect(messagesOf(e).map((m) => m.uuid)).toEqual([own.uuid]);
    expect(JSON.stringify(e.events)).not.toContain(sent.message_group_uuid);
    for (const client of [a, b, e]) client.close();
  });

  it("tells the other member's clients that their messages were seen, and the reader's other clients that nothing is unread", async () => {
    const [alice, bob] = await users(2);
    const sent = await send(alice, { message: 'did you see this?', handle: bob.handle });
    await stack.app.get(ChangeCaptureEmulator).drain();
    const [a, b] = [await connect(alice), await connect(bob)];

    expect((await api().post(`/api/message_groups/${sent.message_group_uuid}/read`).set(auth(bob))).status).toBe(200);
    await a.until(() => a.data('read').length > 0, "alice's read event");
    await b.until(() => b.data('read').length > 0, "bob's read event");

    expect(a.data('read')).toEqual([{ message_group_uuid: sent.message_group_uuid, other_last_read_at: sent.created_at }]);
    expect(b.data('read')).toEqual([
      { message_group_uuid: sent.message_group_uuid, last_read_at: sent.created_at, unread_count: 0, unread_more: false },
    ]);
    a.close();
    b.close();
  });
});

describe('resuming with Last-Event-ID', () => {
  it('replays exactly the messages sent while away, by several writers in several conversations, in per-conversation order', async () => {
    const [alice, bob, carol, dave] = await users(4);
    const first = await send(bob, { message: 'before', handle: alice.handle });
    const withCarol = await send(carol, { message: 'hi alice', handle: alice.handle });
    const withDave = await send(dave, { message: 'yo', handle: alice.handle });
    const before = await connect(alice);
    const last = await send(bob, { message: 'seen live', message_group_uuid: first.message_group_uuid });
    await before.until(() => messagesOf(before).some((m) => m.uuid === last.uuid), 'the live message');
    const lastId = before.lastEventId!;
    before.close();
    await streamsClosed(alice);

    // Away: N = 12 messages in K = 3 conversations, by the API's users and a script (its own repository).
    const sent: { uuid: string; message_group_uuid: string }[] = [];
    for (let i = 0; i < 4; i++) {
      sent.push(await send(bob, { message: `bob ${i}`, message_group_uuid: first.message_group_uuid }));
      sent.push(await send(carol, { message: `carol ${i}`, message_group_uuid: withCarol.message_group_uuid }));
      const scripted = await stack.repository.putMessage({
        message_group_uuid: withDave.message_group_uuid,
        message: `script ${i}`,
        sender: { uuid: dave.uuid, display_name: dave.display_name, handle: dave.handle },
      });
      sent.push({ uuid: scripted.message_uuid, message_group_uuid: withDave.message_group_uuid });
    }
    // Reconnecting at once: some are replayed from DynamoDB, some may still be on their way through the stream.
    const back = await connect(alice, { 'Last-Event-ID': lastId });
    await back.until(() => messagesOf(back).length >= sent.length, 'the missed messages');
    // A marker after everything: once it is in, anything sent twice would have arrived before it.
    await stack.app.get(ChangeCaptureEmulator).drain();
    const marker = await send(bob, { message: 'marker', message_group_uuid: first.message_group_uuid });
    await back.until(() => messagesOf(back).some((m) => m.uuid === marker.uuid), 'the marker');

    const received = messagesOf(back).filter((m) => m.uuid !== marker.uuid);
    expect(received.map((m) => m.uuid).sort()).toEqual(sent.map((m) => m.uuid).sort());
    for (const group of [first, withCarol, withDave].map((g) => g.message_group_uuid)) {
      expect(received.filter((m) => m.message_group_uuid === group).map((m) => m.uuid)).toEqual(
        sent.filter((m) => m.message_group_uuid === group).map((m) => m.uuid),
      );
    }
    // Ids never go backwards.
    const ids = back.events.filter((e) => e.id !== undefined).map((e) => parseInt(e.id!, 36));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    back.close();
  });

  it('sends one resync instead of replaying past 24 hours', async () => {
    const [alice] = await users(1);
    const dayAgo = ((Date.now() - 25 * 3600 * 1000) * 1000).toString(36);

    const client = await connect(alice, { 'Last-Event-ID': dayAgo });
    await client.until(() => client.data('resync').length > 0, 'resync');

    expect(client.data('resync')).toEqual([{ reason: 'too_much_missed' }]);
    client.close();
  });

  it.each([
    ['garbage!'],
    ['ZZZ'],
    ['1'],
    // An hour ahead: it would replay nothing, now and at every later resume.
    [(Date.now() * 1000 + 3_600_000_000).toString(36)],
  ])('answers 400 last_event_id_invalid to Last-Event-ID %p', async (id) => {
    const [alice] = await users(1);

    const client = await connect(alice, { 'Last-Event-ID': id });

    expect(client.status).toBe(400);
    expect(await client.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Last-Event-ID is not an event id of this API',
      errors: ['last_event_id_invalid'],
    });
  });
});

describe('authentication', () => {
  it('refuses a stream without a token or ticket (401), never a 500', async () => {
    const client = await SseClient.open(`${base}/events`);
    open.push(client);

    expect(client.status).toBe(401);
    expect(await client.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('takes a ticket once: EventSource cannot send headers, and the access token never goes in a URL', async () => {
    const [alice, bob] = await users(2);
    const res = await api().post('/api/events/ticket').set(auth(alice));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expires_in: 30 });

    const viaTicket = await SseClient.open(`${base}/events?ticket=${res.body.ticket}`);
    open.push(viaTicket);
    const again = await SseClient.open(`${base}/events?ticket=${res.body.ticket}`);
    open.push(again);
    const forged = await SseClient.open(`${base}/events?ticket=${'A'.repeat(43)}`);
    open.push(forged);
    const sent = await send(bob, { message: 'via ticket', handle: alice.handle });
    await viaTicket.until(() => messagesOf(viaTicket).some((m) => m.uuid === sent.uuid), 'the message');

    expect(viaTicket.status).toBe(200);
    for (const refused of [again, forged]) {
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ statusCode: 401, errors: ['ticket_invalid'] });
    }
    viaTicket.close();
  });

  it("ends the stream when the caller's access token expires", async () => {
    const [alice] = await users(1);
    const claims = decodeJwtPayload(tokens.get(alice.uuid)!);
    const expiresAt = Date.now() + 2_000;
    const shortLived = signJwt({ ...claims, exp: Math.ceil(expiresAt / 1000) }, emulatorSigningKey());

    const client = await SseClient.open(`${base}/events`, { Authorization: `Bearer ${shortLived}` });
    open.push(client);
    await client.until(() => client.ended, 'the end of the stream', 6_000);

    expect(client.status).toBe(200);
    expect(Date.now()).toBeGreaterThanOrEqual(Math.ceil(expiresAt / 1000) * 1000 - 50);
    expect(client.events.some((e) => e.comment === 'token expired')).toBe(true);
  });
});

describe('bounds', () => {
  it('answers 429 too_many_streams past the per-user limit, and takes a new stream once one closes', async () => {
    const [alice] = await users(1);
    const three = [await connect(alice), await connect(alice), await connect(alice)];

    const fourth = await connect(alice);
    expect(fourth.status).toBe(429);
    expect(await fourth.json()).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: 'At most 3 open streams per user; close one first',
      errors: ['too_many_streams'],
    });
    three[0].close();
    await streamsClosed(alice, 2);
    const again = await connect(alice);
    expect(again.status).toBe(200);
    for (const client of [...three, again]) client.close();
  });

  it('closes a client that does not read with resync once its buffer is full', async () => {
    const [alice] = await users(1);
    const client = await connect(alice);
    client.pause();
    const bus = stack.app.get(LiveEventBus);
    const big = 'x'.repeat(1000);

    // Events for alice until the server gives up on her stream (the socket buffers fill first).
    for (let i = 0; streams().openStreams(alice.uuid) > 0; i++) {
      if (i > 100_000) throw new Error('the stream was never closed');
      await bus.publish([
        {
          type: 'read',
          audience: [alice.uuid],
          key: `flood:${i}`,
          data: { message_group_uuid: big, other_last_read_at: String(i) },
        },
      ]);
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    client.resume();
    await client.until(() => client.ended, 'the end of the stream');

    expect(client.events.filter((e) => e.type !== 'comment').at(-1)).toMatchObject({ type: 'resync', data: '{"reason":"slow_consumer"}' });
  });

  it('closes every stream with a retry hint on shutdown, and the server stops', async () => {
    const second = await createApp(loadConfig(stack.env), { logger: false });
    await second.listen(0, '127.0.0.1');
    const [alice] = await users(1);
    const url = `http://127.0.0.1:${(second.getHttpServer().address() as AddressInfo).port}/api/events`;
    const client = await SseClient.open(url, auth(alice));
    open.push(client);
    await client.until(() => client.lastEventId !== undefined, 'the first event');

    await second.close();
    await client.until(() => client.ended, 'the end of the stream');

    expect(client.events.filter((e) => e.retry !== undefined).map((e) => e.retry)).toEqual([3000, 500]);
  });
});

/** Resolves once the server has let go of the user's streams (down to `left`). */
async function streamsClosed(user: TestUser, left = 0): Promise<void> {
  for (let i = 0; streams().openStreams(user.uuid) > left; i++) {
    if (i > 1000) throw new Error('streams were not closed');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
