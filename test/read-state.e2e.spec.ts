import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { parseTimestamp } from '../src/dynamodb/timestamp.js';
import { ChangeCaptureEmulator } from '../src/stream/change-capture.emulator.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';

/*
 * Read state (issue 14): unread counts in the conversation list and "seen" receipts, through the
 * API with the change-capture emulator projecting every message, as the stream does on AWS.
 */
let stack: ApiStack;
const tokens = new Map<string, string>();

beforeAll(async () => {
  stack = await startApiStack();
});

afterAll(async () => {
  await stack?.stop();
});

const api = () => request(stack.app.getHttpServer());
const auth = (user: TestUser) => ({ Authorization: `Bearer ${tokens.get(user.uuid)}` });
const drain = () => stack.app.get(ChangeCaptureEmulator).drain();

async function pair(): Promise<[TestUser, TestUser]> {
  const users = await Promise.all([stack.createUser(), stack.createUser()]);
  for (const user of users) tokens.set(user.uuid, await stack.accessToken(user));
  return [users[0], users[1]];
}

async function send(from: TestUser, body: object): Promise<{ message_group_uuid: string; created_at: string }> {
  const res = await api().post('/api/messages').set(auth(from)).send(body);
  expect(res.status).toBe(200);
  return res.body;
}

/** The caller's list item of the conversation, as the API shows it. */
async function listItem(user: TestUser, group: string) {
  await drain();
  const res = await api().get('/api/message_groups').set(auth(user));
  expect(res.status).toBe(200);
  return (res.body as { uuid: string; unread_count: number; unread_more: boolean; other_last_read_at: string | null }[]).find(
    (g) => g.uuid === group,
  );
}

const markRead = (user: TestUser, group: string, body?: object) => {
  const req = api().post(`/api/message_groups/${group}/read`).set(auth(user));
  return body === undefined ? req : req.send(body);
};

describe('unread counts', () => {
  it("counts the other member's messages since the caller last read or wrote, never the caller's own", async () => {
    const [alice, bob] = await pair();
    const { message_group_uuid: group } = await send(alice, { message: 'one', handle: bob.handle });
    await send(alice, { message: 'two', message_group_uuid: group });

    expect(await listItem(bob, group)).toMatchObject({ unread_count: 2, unread_more: false, other_last_read_at: expect.any(String) });
    expect(await listItem(alice, group)).toMatchObject({ unread_count: 0 });

    await send(bob, { message: 'three', message_group_uuid: group }); // writing is reading
    await send(alice, { message: 'four', message_group_uuid: group });

    expect(await listItem(bob, group)).toMatchObject({ unread_count: 1 });
    expect(await listItem(alice, group)).toMatchObject({ unread_count: 0 });
  });

  it('drops to zero when the caller marks the conversation read, and shows the other member it was seen', async () => {
    const [alice, bob] = await pair();
    const first = await send(alice, { message: 'one', handle: bob.handle });
    const second = await send(alice, { message: 'two', message_group_uuid: first.message_group_uuid });
    await drain();

    const res = await markRead(bob, first.message_group_uuid);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message_group_uuid: first.message_group_uuid,
      last_read_at: second.created_at,
      unread_count: 0,
      unread_more: false,
    });
    expect(await listItem(bob, first.message_group_uuid)).toMatchObject({ unread_count: 0 });
    expect(await listItem(alice, first.message_group_uuid)).toMatchObject({ other_last_read_at: second.created_at });
  });

  it('reads up to a given message, and never moves the marker back (200 either way)', async () => {
    const [alice, bob] = await pair();
    const sent = [await send(alice, { message: 'm0', handle: bob.handle })];
    for (let i = 1; i < 4; i++) sent.push(await send(alice, { message: `m${i}`, message_group_uuid: sent[0].message_group_uuid }));
    const group = sent[0].message_group_uuid;
    await drain();

    const partly = await markRead(bob, group, { up_to: sent[1].created_at });
    const back = await markRead(bob, group, { up_to: sent[0].created_at });

    expect(partly.body).toMatchObject({ last_read_at: sent[1].created_at, unread_count: 2 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ last_read_at: sent[1].created_at, unread_count: 2 });
    expect(await listItem(bob, group)).toMatchObject({ unread_count: 2 });
    expect(await listItem(alice, group)).toMatchObject({ other_last_read_at: sent[1].created_at });
  });

  it('takes a null up_to as no up_to: read up to the newest message', async () => {
    const [alice, bob] = await pair();
    const first = await send(alice, { message: 'one', handle: bob.handle });
    const second = await send(alice, { message: 'two', message_group_uuid: first.message_group_uuid });
    await drain();

    const res = await markRead(bob, first.message_group_uuid, { up_to: null });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ last_read_at: second.created_at, unread_count: 0 });
  });

  it('takes up_to at any offset as its instant, and keeps the marker in the one stored form', async () => {
    const [alice, bob] = await pair();
    const sent = [await send(alice, { message: 'm0', handle: bob.handle })];
    for (let i = 1; i < 3; i++) sent.push(await send(alice, { message: `m${i}`, message_group_uuid: sent[0].message_group_uuid }));
    await drain();
    const instant = new Date(Math.floor(parseTimestamp(sent[0].created_at)! / 1000) + 9 * 3_600_000);
    const inTokyo = `${instant.toISOString().slice(0, 19)}${sent[0].created_at.slice(19, 26)}+09:00`;

    const res = await markRead(bob, sent[0].message_group_uuid, { up_to: inTokyo });

    expect(res.body).toMatchObject({ last_read_at: sent[0].created_at, unread_count: 2 });
    expect(await listItem(bob, sent[0].message_group_uuid)).toMatchObject({ unread_count: 2 });
  });

  it('never lets "seen" run ahead of the newest message', async () => {
    const [alice, bob] = await pair();
    const { message_group_uuid: group, created_at } = await send(alice, { message: 'only', handle: bob.handle });

    const res = await markRead(bob, group, { up_to: '2999-01-01T00:00:00.000000+00:00' });

    expect(res.body).toMatchObject({ last_read_at: created_at });
    expect(await listItem(alice, group)).toMatchObject({ other_last_read_at: created_at });
  });

  it('caps the count at 99 and says there are more', async () => {
    const [alice, bob] = await pair();
    const { message_group_uuid: group } = await send(alice, { message: 'm0', handle: bob.handle });
    await Promise.all(Array.from({ length: 100 }, (_, i) => send(alice, { message: `m${i + 1}`, message_group_uuid: group })));

    expect(await listItem(bob, group)).toMatchObject({ unread_count: 99, unread_more: true });
  });

  it('converges to the exact count under 40 concurrent replies with reads in between', async () => {
    const [alice, bob] = await pair();
    const { message_group_uuid: group } = await send(alice, { message: 'start', handle: bob.handle });
    const replies = Array.from({ length: 40 }, (_, i) => send(alice, { message: `r${i}`, message_group_uuid: group }));
    const reads = Array.from({ length: 5 }, () => markRead(bob, group));
    const [answers] = await Promise.all([Promise.all(replies), Promise.all(reads)]);
    await drain();
    const { last_read_at } = (await markRead(bob, group, { up_to: '1970-01-01T00:00:00.000000+00:00' })).body as { last_read_at: string };

    const expected = answers.filter((a) => a.created_at > last_read_at).length;
    expect(await listItem(bob, group)).toMatchObject({ unread_count: expected, unread_more: false });
    const members = await stack.repository.listMembers(group);
    expect(members.find((m) => m.owner_user_uuid === bob.uuid)).toMatchObject({ unread_count: expected, last_read_at });
  });
});

describe('POST /api/message_groups/:message_group_uuid/read refusals', () => {
  it('answers 404 to a non-member and to a conversation that does not exist, and changes nothing', async () => {
    const [alice, bob] = await pair();
    const [mallory] = await pair();
    const { message_group_uuid: group } = await send(alice, { message: 'private', handle: bob.handle });

    expect((await markRead(mallory, group)).status).toBe(404);
    expect((await markRead(mallory, randomUUID())).status).toBe(404);
    expect(await listItem(alice, group)).toMatchObject({ other_last_read_at: null });
  });

  it.each([
    ['not a timestamp', { up_to: 'yesterday' }],
    ['a number', { up_to: 42 }],
    ['an instant past the year 9999', { up_to: '9999-12-31T23:59:59-05:00' }],
    ['a date without time', { up_to: '2024-01-01' }],
  ])('answers 422 up_to_invalid to %s', async (_, body) => {
    const [alice, bob] = await pair();
    const { message_group_uuid: group } = await send(alice, { message: 'x', handle: bob.handle });

    const res = await markRead(bob, group, body);

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual(['up_to_invalid']);
  });

  it('answers 401 without a token', async () => {
    expect((await api().post(`/api/message_groups/${randomUUID()}/read`)).status).toBe(401);
  });
});
