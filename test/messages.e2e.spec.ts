import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { HttpException } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { formatTimestamp, parseTimestamp } from '../src/dynamodb/timestamp.js';
import { MessagesRepository, type MessageItem } from '../src/dynamodb/messages.repository.js';
import { ConversationListProjector } from '../src/stream/conversation-list.projector.js';
import { IdempotencyService, type WritePlan } from '../src/messages/idempotency.service.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';

let stack: ApiStack;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
const tokens = new Map<string, string>();

beforeAll(async () => {
  stack = await startApiStack({ env: { STREAM_EMULATOR: 'off' } });
  [alice, bob, carol] = await Promise.all([stack.createUser('alice'), stack.createUser('bob'), stack.createUser('carol')]);
  for (const user of [alice, bob, carol]) tokens.set(user.handle, await stack.accessToken(user));
});

afterAll(async () => {
  await stack?.stop();
});

const api = () => request(stack.app.getHttpServer());
const auth = (user: TestUser) => ({ Authorization: `Bearer ${tokens.get(user.handle)}` });
const post = (user: TestUser, body: unknown, headers: Record<string, string> = {}) =>
  api()
    .post('/api/messages')
    .set({ ...auth(user), ...headers })
    .send(body as object);

function keyedRows(sql: string, parameters: unknown[]): Promise<unknown> {
  return stack.app.get<DataSource>(getDataSourceToken()).query(sql, parameters);
}

/** The key's attempt ended without an answer (a crash after planning, or after writing): no response, no lease. */
const endedWithoutAnswer = (key: string) =>
  keyedRows(`UPDATE public.idempotency_keys SET response = 'null', locked_until = NULL WHERE key = $1`, [key]);

const pickPlan = ({ message_uuid, created_at }: { message_uuid: string; created_at: string }) => ({ message_uuid, created_at });

/** Resolves once `condition` holds, checking on every turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** A fresh pair of users for tests that need a conversation of their own. */
async function pair(): Promise<[TestUser, TestUser]> {
  const [a, b] = await Promise.all([stack.createUser(), stack.createUser()]);
  for (const user of [a, b]) tokens.set(user.handle, await stack.accessToken(user));
  return [a, b];
}

describe('POST /api/messages to a handle (pattern C)', () => {
  it('starts a conversation and answers 200 with the created message', async () => {
    const [a, b] = await pair();

    const res = await post(a, { message: 'Hello there', handle: b.handle });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message_group_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      display_name: a.display_name,
      handle: a.handle,
      message: 'Hello there',
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/),
    });
    const stored = await stack.repository.listAllMessages(res.body.message_group_uuid);
    expect(stored.map((m) => [m.message_uuid, m.created_at])).toEqual([[res.body.uuid, res.body.created_at]]);
  });

  it("shows the new conversation in both members' lists, each describing the other member", async () => {
    const [a, b] = await pair();
    const { body: sent } = await post(a, { message: 'Hi b', handle: b.handle });

    const mine = await api().get('/api/message_groups').set(auth(a));
    const theirs = await api().get('/api/message_groups').set(auth(b));

    expect(mine.status).toBe(200);
    expect(mine.body).toEqual([
      {
        uuid: sent.message_group_uuid,
        display_name: b.display_name,
        handle: b.handle,
        message: 'Hi b',
        created_at: sent.created_at,
        unread_count: 0,
        unread_more: false,
        other_last_read_at: null,
      },
    ]);
    // The sender has read their own message (unread 0); the recipient has one unread, and sees the sender's marker.
    expect(theirs.body).toEqual([
      {
        uuid: sent.message_group_uuid,
        display_name: a.display_name,
        handle: a.handle,
        message: 'Hi b',
        created_at: sent.created_at,
        unread_count: 1,
        unread_more: false,
        other_last_read_at: sent.created_at,
      },
    ]);
  });

  it('reuses the existing conversation between the two users, whoever writes first', async () => {
    const [a, b] = await pair();
    const first = await post(a, { message: 'one', handle: b.handle });

    const second = await post(b, { message: 'two', handle: `@${a.handle}` });

    expect(second.status).toBe(200);
    expect(second.body.message_group_uuid).toBe(first.body.message_group_uuid);
    expect(await stack.repository.listListItemsOnIndex(first.body.message_group_uuid)).toHaveLength(2);
  });

  it('reuses a conversation written by the original tools (random id)', async () => {
    const [a, b] = await pair();
    const legacy = randomUUID();
    const at = '2023-03-28T21:02:11.141577+00:00';
    await stack.repository.putListItem({
      owner_user_uuid: a.uuid,
      message_group_uuid: legacy,
      last_reply_at: at,
      message: 'old',
      other: b,
    });
    await stack.repository.putListItem({
      owner_user_uuid: b.uuid,
      message_group_uuid: legacy,
      last_reply_at: at,
      message: 'old',
      other: a,
    });

    const res = await post(a, { message: 'new', handle: b.handle });

    expect(res.body.message_group_uuid).toBe(legacy);
  });

  it('answers 404 for an unknown handle and stores nothing', async () => {
    const [a] = await pair();

    const res = await post(a, { message: 'anyone?', handle: 'nobody_here' });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect((await stack.repository.listConversations(a.uuid, { limit: 10 })).items).toEqual([]);
  });
});

describe('a first message whose write fails', () => {
  const lostConnection = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

  it('answers 503 and shows no conversation in either list; the retry lands in the same conversation', async () => {
    const [a, b] = await pair();
    const putMessage = jest.spyOn(stack.app.get(MessagesRepository), 'putMessage').mockRejectedValueOnce(lostConnection());

    const res = await post(a, { message: 'first', handle: b.handle });

    putMessage.mockRestore();
    expect(res.status).toBe(503);
    expect((await stack.repository.listConversations(a.uuid, { limit: 10 })).items).toEqual([]);
    expect((await stack.repository.listConversations(b.uuid, { limit: 10 })).items).toEqual([]);
    const retry = await post(a, { message: 'first', handle: b.handle });
    expect(retry.status).toBe(200);
    expect((await stack.repository.listMembers(retry.body.message_group_uuid)).map((m) => m.owner_user_uuid).sort()).toEqual(
      [a.uuid, b.uuid].sort(),
    );
    expect((await stack.repository.listAllMessages(retry.body.message_group_uuid)).map((m) => m.message)).toEqual(['first']);
  });

  it('completes a pair whose first message wrote only one member item: the retry reaches both lists', async () => {
    const [a, b] = await pair();
    const repository = stack.app.get(MessagesRepository);
    const putMember = repository.putMember.bind(repository);
    const spy = jest.spyOn(repository, 'putMember').mockImplementation(async (member) => {
      if (member.owner_user_uuid === b.uuid) throw lostConnection();
      return putMember(member);
    });

    const failed = await post(a, { message: 'first', handle: b.handle });
    spy.mockRestore();
    const retry = await post(a, { message: 'first', handle: b.handle });

    expect([failed.status, retry.status]).toEqual([503, 200]);
    expect((await stack.repository.listMembers(retry.body.message_group_uuid)).map((m) => m.owner_user_uuid).sort()).toEqual(
      [a.uuid, b.uuid].sort(),
    );
    await new ConversationListProjector(stack.repository).project((await stack.repository.newestMessage(retry.body.message_group_uuid))!);
    expect((await stack.repository.listConversations(b.uuid, { limit: 10 })).items.map((g) => g.message_group_uuid)).toEqual([
      retry.body.message_group_uuid,
    ]);
  });

  it('hides nothing the other member wrote meanwhile: their reply reaches both lists', async () => {
    const [a, b] = await pair();
    let reply: MessageItem | undefined;
    const putMessage = jest.spyOn(stack.app.get(MessagesRepository), 'putMessage').mockImplementationOnce(async (input) => {
      reply = await stack.repository.putMessage({ message_group_uuid: input.message_group_uuid, message: 'hello from b', sender: b });
      throw lostConnection();
    });

    const res = await post(a, { message: 'first', handle: b.handle });
    putMessage.mockRestore();
    await new ConversationListProjector(stack.repository).project(reply!); // what the stream does with b's message

    expect(res.status).toBe(503);
    const [groupOfA] = (await stack.repository.listConversations(a.uuid, { limit: 10 })).items;
    expect(groupOfA).toMatchObject({ message_group_uuid: reply!.message_group_uuid, message: 'hello from b', user_handle: b.handle });
    expect((await stack.repository.listConversations(b.uuid, { limit: 10 })).items.map((g) => g.message_group_uuid)).toEqual([
      groupOfA.message_group_uuid,
    ]);
    expect((await stack.repository.listAllMessages(groupOfA.message_group_uuid)).map((m) => m.message)).toEqual(['hello from b']);
    expect((await api().get(`/api/messages/${groupOfA.message_group_uuid}`).set(auth(b))).status).toBe(200);
  });
});

describe('POST /api/messages to a conversation (pattern D)', () => {
  it('adds a message to a conversation the caller is a member of', async () => {
    const [a, b] = await pair();
    const { body: first } = await post(a, { message: 'first', handle: b.handle });

    const res = await post(b, { message: 'reply', message_group_uuid: first.message_group_uuid });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message_group_uuid: first.message_group_uuid, handle: b.handle, message: 'reply' });
    const messages = await api().get(`/api/messages/${first.message_group_uuid}`).set(auth(a));
    expect(messages.body.map((m: { message: string }) => m.message)).toEqual(['first', 'reply']);
  });

  it('answers 404 to a non-member and stores nothing', async () => {
    const [a, b] = await pair();
    const { body: first } = await post(a, { message: 'private', handle: b.handle });

    const res = await post(carol, { message: 'let me in', message_group_uuid: first.message_group_uuid });

    expect(res.status).toBe(404);
    expect(res.body.message).toBe('Conversation not found');
    expect(await stack.repository.listAllMessages(first.message_group_uuid)).toHaveLength(1);
  });

  it('answers the same 404 for a conversation that does not exist', async () => {
    const res = await post(alice, { message: 'hello?', message_group_uuid: randomUUID() });

    expect(res.status).toBe(404);
    expect(res.body.message).toBe('Conversation not found');
  });
});

describe('GET /api/messages/:message_group_uuid (pattern A)', () => {
  it('answers 404 to a non-member, revealing nothing', async () => {
    const [a, b] = await pair();
    const { body: first } = await post(a, { message: 'secret', handle: b.handle });

    const res = await api().get(`/api/messages/${first.message_group_uuid}`).set(auth(carol));

    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toContain('secret');
  });

  it('answers 400 to a malformed conversation id', async () => {
    const res = await api().get('/api/messages/not-a-uuid').set(auth(alice));

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(['message_group_uuid_invalid']);
  });

  it('pages over 130 messages: newest page first, oldest first within a page, no gap, no duplicate', async () => {
    const [a, b] = await pair();
    const { body: first } = await post(a, { message: 'm0', handle: b.handle });
    const start = parseTimestamp(first.created_at)! + 1_000_000;
    for (let i = 1; i < 130; i++) {
      await stack.repository.putMessage({
        message_group_uuid: first.message_group_uuid,
        message: `m${i}`,
        sender: i % 2 ? b : a,
        created_at: formatTimestamp(start + i * 1000),
      });
    }

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const res = await api()
        .get(`/api/messages/${first.message_group_uuid}`)
        .query({ limit: 20, ...(cursor ? { cursor } : {}) })
        .set(auth(b));
      expect(res.status).toBe(200);
      pages.push(res.body.map((m: { message: string }) => m.message));
      cursor = res.headers['x-next-cursor'];
    } while (cursor);

    expect(pages).toHaveLength(7);
    expect(pages[0]).toEqual(Array.from({ length: 20 }, (_, i) => `m${110 + i}`));
    expect(pages.reverse().flat()).toEqual(Array.from({ length: 130 }, (_, i) => `m${i}`));
  });

  it('sends no cursor on the last page', async () => {
    const [a, b] = await pair();
    const { body: first } = await post(a, { message: 'only', handle: b.handle });

    const res = await api().get(`/api/messages/${first.message_group_uuid}`).set(auth(a));

    expect(res.status).toBe(200);
    expect(res.headers['x-next-cursor']).toBeUndefined();
  });
});

describe('GET /api/message_groups (pattern B)', () => {
  it('lists conversations newest first and pages with a cursor', async () => {
    const [a] = await pair();
    const others = await Promise.all([stack.createUser(), stack.createUser(), stack.createUser()]);
    for (const other of others) await post(a, { message: `to ${other.handle}`, handle: other.handle });

    const first = await api().get('/api/message_groups').query({ limit: 2 }).set(auth(a));
    const second = await api().get('/api/message_groups').query({ limit: 2, cursor: first.headers['x-next-cursor'] }).set(auth(a));

    expect(first.body.map((g: { handle: string }) => g.handle)).toEqual([others[2].handle, others[1].handle]);
    expect(second.body.map((g: { handle: string }) => g.handle)).toEqual([others[0].handle]);
    expect(second.headers['x-next-cursor']).toBeUndefined();
  });
});

describe('cursors', () => {
  async function firstPageCursor(): Promise<{ cursor: string; group: string; user: TestUser }> {
    const [a, b] = await pair();
    const { body } = await post(a, { message: 'a', handle: b.handle });
    await post(a, { message: 'b', message_group_uuid: body.message_group_uuid });
    const res = await api().get(`/api/messages/${body.message_group_uuid}`).query({ limit: 1 }).set(auth(a));
    return { cursor: res.headers['x-next-cursor'], group: body.message_group_uuid, user: a };
  }

  it('rejects a tampered cursor with 400', async () => {
    const { cursor, group, user } = await firstPageCursor();
    const [payload, signature] = cursor.split('.');
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = `${Buffer.from(JSON.stringify({ ...data, b: '2099-01-01T00:00:00.000000+00:00' })).toString('base64url')}.${signature}`;

    const res = await api().get(`/api/messages/${group}`).query({ cursor: tampered }).set(auth(user));

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(['cursor_invalid']);
  });

  it('rejects a cursor from another list with 400', async () => {
    const { cursor, user } = await firstPageCursor();

    const res = await api().get('/api/message_groups').query({ cursor }).set(auth(user));

    expect(res.status).toBe(400);
  });

  it.each([['garbage'], ['a.b'], ['%%%'], ['x'.repeat(2000)]])('rejects a made-up cursor with 400 (%#)', async (cursor) => {
    const res = await api().get('/api/message_groups').query({ cursor }).set(auth(alice));

    expect(res.status).toBe(400);
  });

  it('treats an empty cursor as the first page', async () => {
    expect((await api().get('/api/message_groups?cursor=').set(auth(alice))).status).toBe(200);
  });
});

describe('query validation', () => {
  it.each(['0', '101', '-1', 'abc', '2.5', ''])('rejects limit=%j with 400', async (limit) => {
    const res = await api().get(`/api/message_groups?limit=${limit}`).set(auth(alice));

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(['limit_invalid']);
  });

  it('rejects a repeated limit with 400', async () => {
    const res = await api().get('/api/message_groups?limit=1&limit=2').set(auth(alice));

    expect(res.status).toBe(400);
  });

  it.each(['1', '100'])('accepts limit=%s', async (limit) => {
    expect((await api().get(`/api/message_groups?limit=${limit}`).set(auth(alice))).status).toBe(200);
  });
});

describe('body validation', () => {
  it.each([
    ['no message', { handle: 'bob' }, ['message_blank']],
    ['a blank message', { message: '   ', handle: 'bob' }, ['message_blank']],
    ['a number as message', { message: 42, handle: 'bob' }, ['message_invalid']],
    ['1025 characters', { message: 'x'.repeat(1025), handle: 'bob' }, ['message_exceed_max_chars']],
    ['no recipient', { message: 'hi' }, ['recipient_blank']],
    ['a malformed conversation id', { message: 'hi', message_group_uuid: 'nope' }, ['message_group_uuid_invalid']],
    ['a malformed handle', { message: 'hi', handle: 'bad handle!' }, ['handle_invalid']],
    ["the caller's own handle", { message: 'hi', handle: 'alice' }, ['cannot_message_self']],
    ['both handle and conversation', { message: 'hi', handle: 'bob', message_group_uuid: randomUUID() }, ['recipient_ambiguous']],
    ['an empty object', {}, ['message_blank', 'recipient_blank']],
    [
      'an empty message to oneself (the body codes first: who the recipient is matters once the message is valid)',
      { message: '', handle: 'alice' },
      ['message_blank'],
    ],
    ['wrong types everywhere', { message: ['x'], message_group_uuid: 42 }, ['message_invalid', 'message_group_uuid_invalid']],
    ['a NUL character in the message', { message: 'a\u0000b', handle: 'bob' }, ['message_invalid']],
    ['half of a surrogate pair', { message: 'a\uD83Db', handle: 'bob' }, ['message_invalid']],
  ])('answers 422 to %s with every code', async (_, body, codes) => {
    const res = await post(alice, body);

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
    expect(res.body.errors.sort()).toEqual([...codes].sort());
    expect((await stack.repository.listConversations(alice.uuid, { limit: 100 })).items).toEqual([]);
  });

  it('accepts a message of exactly 1024 characters (counted as characters, not bytes)', async () => {
    const [a, b] = await pair();

    const res = await post(a, { message: '€'.repeat(1024), handle: b.handle });

    expect(res.status).toBe(200);
  });

  it('takes null fields as absent (clients that send every field): a reply with handle null, a first message with message_group_uuid null', async () => {
    const [a, b] = await pair();
    const first = await post(a, { message: 'first', handle: b.handle, message_group_uuid: null });
    const reply = await post(a, { message: 'reply', handle: null, message_group_uuid: first.body.message_group_uuid });

    expect([first.status, reply.status]).toEqual([200, 200]);
    expect(reply.body.message_group_uuid).toBe(first.body.message_group_uuid);
  });

  it('answers 422 to a NUL character also with an Idempotency-Key, and stores nothing', async () => {
    const [a, b] = await pair();

    const res = await post(a, { message: 'a\u0000b', handle: b.handle }, { 'Idempotency-Key': randomUUID() });

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual(['message_invalid']);
    expect((await stack.repository.listConversations(a.uuid, { limit: 10 })).items).toEqual([]);
  });

  it('answers 413 with its own message to a form body with too many fields', async () => {
    const form = Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&');

    const res = await api().post('/api/messages').set(auth(alice)).set('Content-Type', 'application/x-www-form-urlencoded').send(form);

    expect(res.status).toBe(413);
    expect(res.body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: 'Too many parameters in the request body' });
  });

  it('answers 400 to malformed JSON', async () => {
    const res = await api().post('/api/messages').set(auth(alice)).set('Content-Type', 'application/json').send('{"message": "hi", ');

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/JSON/) });
  });

  it.each([['[1,2]'], ['"text"'], ['null'], ['42']])('answers 400 to the JSON body %s', async (raw) => {
    const res = await api().post('/api/messages').set(auth(alice)).set('Content-Type', 'application/json').send(raw);

    expect(res.status).toBe(400);
  });

  it('answers 413 to a body over 64 KB', async () => {
    const res = await post(alice, { message: 'x'.repeat(70 * 1024), handle: 'bob' });

    expect(res.status).toBe(413);
    expect(res.body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: 'Request body is larger than 64 KB' });
  });
});

describe('Idempotency-Key', () => {
  it('returns the same message for a retry and stores nothing new', async () => {
    const [a, b] = await pair();
    const key = randomUUID();

    const first = await post(a, { message: 'once', handle: b.handle }, { 'Idempotency-Key': key });
    const retry = await post(a, { message: 'once', handle: b.handle }, { 'Idempotency-Key': key });

    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(await stack.repository.listAllMessages(first.body.message_group_uuid)).toHaveLength(1);
  });

  it('stores one message when 10 requests with the same key race', async () => {
    const [a, b] = await pair();
    const { body: start } = await post(a, { message: 'start', handle: b.handle });
    const key = randomUUID();

    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        post(a, { message: 'raced', message_group_uuid: start.message_group_uuid }, { 'Idempotency-Key': key }),
      ),
    );

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(responses.map((r) => r.body.uuid)).size).toBe(1);
    expect((await stack.repository.listAllMessages(start.message_group_uuid)).map((m) => m.message)).toEqual(['start', 'raced']);
  });

  it('treats the same key from another user as a different request', async () => {
    const [a, b] = await pair();
    const { body: start } = await post(a, { message: 'start', handle: b.handle });
    const key = randomUUID();

    const fromA = await post(a, { message: 'same', message_group_uuid: start.message_group_uuid }, { 'Idempotency-Key': key });
    const fromB = await post(b, { message: 'same', message_group_uuid: start.message_group_uuid }, { 'Idempotency-Key': key });

    expect(fromB.body.uuid).not.toBe(fromA.body.uuid);
  });

  it('answers 422 when a key is reused for a different request', async () => {
    const [a, b] = await pair();
    const key = randomUUID();
    await post(a, { message: 'first', handle: b.handle }, { 'Idempotency-Key': key });

    const res = await post(a, { message: 'different', handle: b.handle }, { 'Idempotency-Key': key });

    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual(['idempotency_key_reused']);
  });

  it('forgets a key after 24 hours, and not before', async () => {
    const [a, b] = await pair();
    const [oldKey, freshKey] = [randomUUID(), randomUUID()];
    const old = await post(a, { message: 'yesterday', handle: b.handle }, { 'Idempotency-Key': oldKey });
    await post(a, { message: 'today', handle: b.handle }, { 'Idempotency-Key': freshKey });
    const dataSource = stack.app.get<DataSource>(getDataSourceToken());
    await dataSource.query(`UPDATE public.idempotency_keys SET created_at = created_at - interval '24 hours 1 second' WHERE key = $1`, [
      oldKey,
    ]);

    expect(await stack.app.get(IdempotencyService).removeExpired()).toBeGreaterThanOrEqual(1);

    const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM public.idempotency_keys WHERE key = ANY($1)`, [
      [oldKey, freshKey],
    ]);
    expect(count).toBe(1);
    const again = await post(a, { message: 'yesterday', handle: b.handle }, { 'Idempotency-Key': oldKey });
    expect(again.status).toBe(200);
    expect(again.body.uuid).not.toBe(old.body.uuid);
  });

  it('releases a key whose request was refused (404), so the corrected request can use it', async () => {
    const [a, b] = await pair();
    const key = randomUUID();
    const refused = await post(a, { message: 'to whom?', handle: `nobody${randomUUID().slice(0, 8)}` }, { 'Idempotency-Key': key });

    const corrected = await post(a, { message: 'to b', handle: b.handle }, { 'Idempotency-Key': key });

    expect(refused.status).toBe(404);
    expect(corrected.status).toBe(200);
    expect((await stack.repository.listAllMessages(corrected.body.message_group_uuid)).map((m) => m.message)).toEqual(['to b']);
  });

  it("stores a retry of a refused request at the retry's time, not the refused attempt's", async () => {
    const [a] = await pair();
    const handle = `later${randomUUID().slice(0, 8)}`;
    const key = randomUUID();
    const body = { message: 'before you existed', handle };
    expect((await post(a, body, { 'Idempotency-Key': key })).status).toBe(404);
    await stack.createUser(handle);
    await keyedRows(`UPDATE public.idempotency_keys SET created_at = created_at - interval '1 hour' WHERE key = $1`, [key]);
    const retriedAt = formatTimestamp(Date.now() * 1000);

    const retry = await post(a, body, { 'Idempotency-Key': key });

    expect(retry.status).toBe(200);
    expect(retry.body.created_at >= retriedAt).toBe(true);
  });

  it('writes a retry at its own time when the earlier attempt ended without writing anything', async () => {
    const [a, b] = await pair();
    const key = randomUUID();
    const { body: first } = await post(a, { message: 'lost', handle: b.handle }, { 'Idempotency-Key': key });
    // As if that attempt had failed an hour ago before its write: no message, no answer, no lease.
    await stack.repository.model.entities.message
      .delete({ message_group_uuid: first.message_group_uuid, created_at: first.created_at })
      .go();
    await keyedRows(
      `UPDATE public.idempotency_keys SET response = 'null', locked_until = NULL, created_at = created_at - interval '1 hour' WHERE key = $1`,
      [key],
    );
    const retriedAt = formatTimestamp(Date.now() * 1000);

    const retry = await post(a, { message: 'lost', handle: b.handle }, { 'Idempotency-Key': key });

    expect(retry.status).toBe(200);
    expect(retry.body.created_at >= retriedAt).toBe(true);
    expect((await stack.repository.listAllMessages(first.message_group_uuid)).map((m) => m.created_at)).toEqual([retry.body.created_at]);
  });

  it('returns the message of an earlier attempt that wrote it but lost its answer, and writes no second one', async () => {
    const [a, b] = await pair();
    const key = randomUUID();
    const { body: first } = await post(a, { message: 'written once', handle: b.handle }, { 'Idempotency-Key': key });
    await endedWithoutAnswer(key);

    const retry = await post(a, { message: 'written once', handle: b.handle }, { 'Idempotency-Key': key });

    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first);
    expect(await stack.repository.listAllMessages(first.message_group_uuid)).toHaveLength(1);
  });

  describe('attempts that share a plan', () => {
    const service = () => stack.app.get(IdempotencyService);
    /** A piece of work that waits until released: an attempt still running. */
    function pending<T>(result: T) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const plans: WritePlan[] = [];
      const work = async (plan: WritePlan) => {
        plans.push(plan);
        await released;
        return result;
      };
      return { work, release, plans };
    }
    /** An attempt with `user`'s `key` that has its plan and is still running: `answer` settles once released. */
    async function started<T>(user: string, key: string, result: T) {
      const attempt = pending(result);
      const answer = service().once(user, key, { m: 1 }, attempt.work);
      await until(() => attempt.plans.length === 1);
      return { ...attempt, answer };
    }
    const planOf = async (user: string, key: string) => {
      const plans: WritePlan[] = [];
      await service().once(user, key, { m: 1 }, async (plan) => (plans.push(plan), 'second'));
      return plans[0];
    };

    it("an attempt refused while sharing another attempt's plan leaves the key to that attempt", async () => {
      const [user, key] = [randomUUID(), randomUUID()];
      const first = await started(user, key, 'first');

      const refused = service().once(user, key, { m: 1 }, async () => {
        throw new HttpException('Too Many Requests', 429);
      });
      await expect(refused).rejects.toThrow('Too Many Requests');
      first.release();
      await expect(first.answer).resolves.toBe('first');

      // A third attempt gets the first one's answer: nothing was planned anew.
      await expect(service().once(user, key, { m: 1 }, async () => 'third')).resolves.toBe('first');
    });

    it('a retry right after a failed attempt shares its plan: the failed write may still land', async () => {
      const [user, key] = [randomUUID(), randomUUID()];
      const plans: WritePlan[] = [];
      const failed = service().once(user, key, { m: 1 }, async (plan) => {
        plans.push(plan);
        throw new Error('DynamoDB request timed out');
      });
      await expect(failed).rejects.toThrow('timed out');

      const retried = await planOf(user, key);

      expect(pickPlan(retried)).toEqual(pickPlan(plans[0]));
    });

    it('attempts sharing the plan of a retry that took the key over also look for the earlier message', async () => {
      const [user, key] = [randomUUID(), randomUUID()];
      const original = await planOf(user, key);
      await endedWithoutAnswer(key);
      const taker = await started(user, key, 'taker');

      const sharer = await started(user, key, 'sharer');
      taker.release();
      sharer.release();
      await Promise.all([taker.answer, sharer.answer]);

      expect(taker.plans[0].earlier).toEqual([pickPlan(original)]);
      expect(sharer.plans[0].earlier).toEqual([pickPlan(original)]);
      expect(pickPlan(sharer.plans[0])).toEqual(pickPlan(taker.plans[0]));
    });

    it('a refused attempt holding the key leaves it to an attempt sharing its plan (that one may be writing)', async () => {
      const [user, key] = [randomUUID(), randomUUID()];
      const owner = pending('owner');
      const refusedOwner = service().once(user, key, { m: 1 }, async (plan) => {
        await owner.work(plan);
        throw new HttpException('Too Many Requests', 429);
      });
      await until(() => owner.plans.length === 1);
      const sharer = await started(user, key, 'sharer');

      owner.release();
      await expect(refusedOwner).rejects.toThrow('Too Many Requests');
      sharer.release();
      await expect(sharer.answer).resolves.toBe('sharer');

      // The key kept the shared plan, and holds its answer now.
      await expect(service().once(user, key, { m: 1 }, async () => 'third')).resolves.toBe('sharer');
    });

    it('retries racing to take over a key after its lease end up on one plan (one takes it over, the others share)', async () => {
      const [user, key] = [randomUUID(), randomUUID()];
      await planOf(user, key);
      await endedWithoutAnswer(key);
      const retries = Array.from({ length: 8 }, () => pending('retried'));
      const running = retries.map((r) => service().once(user, key, { m: 1 }, r.work));
      await until(() => retries.every((r) => r.plans.length === 1));
      for (const r of retries) r.release();
      await Promise.all(running);

      expect(new Set(retries.map((r) => r.plans[0].created_at)).size).toBe(1);
    });

    it('a retry after two attempts that ended without an answer looks for the messages of both plans', async () => {
      const [user, key] = [randomUUID(), randomUUID()];
      const original = await planOf(user, key);
      await endedWithoutAnswer(key);
      const second: WritePlan[] = [];
      const failed = service().once(user, key, { m: 1 }, async (plan) => {
        second.push(plan);
        throw new Error('DynamoDB request timed out');
      });
      await expect(failed).rejects.toThrow('timed out');
      await keyedRows(`UPDATE public.idempotency_keys SET locked_until = NULL WHERE key = $1`, [key]);

      const third = await planOf(user, key);

      expect(third.earlier).toEqual([pickPlan(original), pickPlan(second[0])]);
    });
  });

  it('answers 503 and writes nothing when a retry would share a plan whose lease is about to end', async () => {
    const [a, b] = await pair();
    const { body: start } = await post(a, { message: 'start', handle: b.handle });
    const key = randomUUID();
    const body = { message: 'late', message_group_uuid: start.message_group_uuid };
    await post(a, body, { 'Idempotency-Key': key });
    await stack.repository.model.entities.message
      .delete({
        message_group_uuid: start.message_group_uuid,
        created_at: (await stack.repository.listAllMessages(start.message_group_uuid))[1].created_at,
      })
      .go();
    // As if its attempt were still running, planned 55 s ago: 5 s of lease left, less than one write may take.
    await keyedRows(
      `UPDATE public.idempotency_keys SET response = 'null', created_at = clock_timestamp() - interval '55 seconds',
       locked_until = clock_timestamp() + interval '5 seconds' WHERE key = $1`,
      [key],
    );

    const retry = await post(a, body, { 'Idempotency-Key': key });

    expect(retry.status).toBe(503);
    expect((await stack.repository.listAllMessages(start.message_group_uuid)).map((m) => m.message)).toEqual(['start']);
  });

  it('answers 400 to a malformed key', async () => {
    const res = await post(alice, { message: 'x', handle: 'bob' }, { 'Idempotency-Key': 'has spaces' });

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(['idempotency_key_invalid']);
  });
});

describe('GET /api/users/@:handle/short', () => {
  it('answers a known handle without a token', async () => {
    const res = await api().get(`/api/users/@${bob.handle}/short`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ uuid: bob.uuid, handle: bob.handle, display_name: bob.display_name });
  });

  it('answers 404 to an unknown handle', async () => {
    const res = await api().get('/api/users/@nobody_at_all/short');

    expect(res.status).toBe(404);
  });

  it('finds a handle whatever its case', async () => {
    const res = await api().get(`/api/users/@${bob.handle.toUpperCase()}/short`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ uuid: bob.uuid, handle: bob.handle, display_name: bob.display_name });
  });

  it.each([
    ['a NUL (which Postgres refuses)', '@a%00b'],
    ['a space', '@a%20b'],
    ['a letter outside ASCII', '@b%C3%B6b'],
    ['a percent-encoded slash', '@a%2Fb'],
    ['a percent-encoded backslash', '@a%5Cb'],
    ['a second @', '@@bob'],
    ['a quote', "@bob'--"],
    ['65 characters', `@${'a'.repeat(65)}`],
  ])('answers 400 handle_invalid, not 500, to a handle with %s', async (_, handle) => {
    const res = await api().get(`/api/users/${handle}/short`);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Invalid request parameters', errors: ['handle_invalid'] });
  });

  it('answers 64 characters, the longest handle, with a 404 for an unknown one', async () => {
    const res = await api().get(`/api/users/@${'a'.repeat(64)}/short`);

    expect(res.status).toBe(404);
  });

  it.each([
    ['an undecodable percent-escape', '@a%FFb'],
    ['a lone percent sign', '@a%b'],
    ['an empty handle', '@'],
  ])('answers 4xx, not 5xx, to %s', async (_, handle) => {
    const res = await api().get(`/api/users/${handle}/short`);

    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});

describe('unknown routes', () => {
  it('answer 404 as JSON', async () => {
    const res = await api().get('/api/nope').set(auth(alice));

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404 });
  });
});
