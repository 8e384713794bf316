import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApp, initApp } from '../src/app.factory.js';
import { loadConfig } from '../src/config/config.js';
import { DYNAMODB_CLIENT } from '../src/dynamodb/dynamodb.module.js';
import { MessagesRepository } from '../src/dynamodb/messages.repository.js';
import { ChangeCaptureEmulator } from '../src/stream/change-capture.emulator.js';
import { LaggedIndex } from './support/lagged-index.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';

/*
 * On AWS the message-group index is eventually consistent; dynalite's is not. Here every index
 * query of two API "tasks" (two apps on one table; the first runs the change-capture emulator, as
 * one stream feeds one projector) is answered from the index as it was when the test held it:
 * writes made since are missing, deletes made since are not done. Membership, finding a pair's
 * conversation and the projector must stay correct: no 404 for a member, no second conversation
 * for a pair, no duplicate and no lost list item.
 */
let stack: ApiStack;
let second: NestFastifyApplication;
const lags: LaggedIndex[] = [];
const tokens = new Map<string, string>();

beforeAll(async () => {
  stack = await startApiStack();
  second = await createApp(loadConfig({ ...stack.env, STREAM_EMULATOR: 'off' }), { logger: false });
  await initApp(second);
  stack.app.get(ChangeCaptureEmulator).watch(second.get(MessagesRepository)); // one stream sees both tasks' writes
  for (const app of [stack.app, second])
    lags.push(LaggedIndex.attach(app.get<DynamoDBClient>(DYNAMODB_CLIENT), stack.config.dynamodb.table));
});

afterAll(async () => {
  await second?.close();
  await stack?.stop();
});

beforeEach(() => {
  for (const lag of lags) lag.release();
});

const holdIndex = () => Promise.all(lags.map((lag) => lag.hold()));
const staleIndexReadsOf = (group: string) => lags.reduce((n, lag) => n + lag.indexQueriesServedStale.filter((g) => g === group).length, 0);
const drain = () => stack.app.get(ChangeCaptureEmulator).drain();

async function pair(): Promise<[TestUser, TestUser]> {
  const users = await Promise.all([stack.createUser(), stack.createUser()]);
  for (const user of users) tokens.set(user.uuid, await stack.accessToken(user));
  return users;
}

const post = (app: NestFastifyApplication, from: TestUser, body: object) =>
  request(app.getHttpServer())
    .post('/api/messages')
    .set('Authorization', `Bearer ${tokens.get(from.uuid)}`)
    .send(body);
const read = (app: NestFastifyApplication, as: TestUser, group: string) =>
  request(app.getHttpServer())
    .get(`/api/messages/${group}`)
    .set('Authorization', `Bearer ${tokens.get(as.uuid)}`);

/** Each member's list items of the conversation, straight from the base table: owner → [message]. */
async function listItems(group: string, members: TestUser[]): Promise<Record<string, string[]>> {
  const result: Record<string, string[]> = {};
  for (const member of members) {
    const { items } = await stack.repository.listConversations(member.uuid, { limit: 100 });
    result[member.handle] = items.filter((g) => g.message_group_uuid === group).map((g) => g.message);
  }
  return result;
}

describe('with the index lagging', () => {
  it('lets the recipient read a new conversation at once through another task (no 404)', async () => {
    const [alice, bob] = await pair();
    await holdIndex();

    const { body: sent } = await post(stack.app, alice, { message: 'hi bob', handle: bob.handle });
    const res = await read(second, bob, sent.message_group_uuid);

    expect(res.status).toBe(200);
    expect(res.body.map((m: { message: string }) => m.message)).toEqual(['hi bob']);
  });

  it('puts a second first message of the pair, through another task, into the same conversation', async () => {
    const [alice, bob] = await pair();
    await holdIndex();

    const first = await post(stack.app, alice, { message: 'from alice', handle: bob.handle });
    const answer = await post(second, bob, { message: 'from bob', handle: alice.handle });
    await drain();

    expect(answer.status).toBe(200);
    expect(answer.body.message_group_uuid).toBe(first.body.message_group_uuid);
    expect(await listItems(first.body.message_group_uuid, [alice, bob])).toEqual({
      [alice.handle]: ['from bob'],
      [bob.handle]: ['from bob'],
    });
  });

  it('projects every reply of a new conversation: one list item per member, the newest, without reading the index', async () => {
    const [alice, bob] = await pair();
    await holdIndex();

    const { body: sent } = await post(stack.app, alice, { message: 'one', handle: bob.handle });
    for (const [i, [app, from]] of (
      [
        [stack.app, bob],
        [second, alice],
        [stack.app, bob],
        [second, alice],
      ] as const
    ).entries()) {
      expect((await post(app, from, { message: `reply ${i}`, message_group_uuid: sent.message_group_uuid })).status).toBe(200);
      await drain(); // one stream batch after another, each projected while the index still shows none of it
    }

    expect(await listItems(sent.message_group_uuid, [alice, bob])).toEqual({ [alice.handle]: ['reply 3'], [bob.handle]: ['reply 3'] });
    expect(staleIndexReadsOf(sent.message_group_uuid)).toBe(0);
  });

  it('projects replies of a conversation the original tools wrote, building its members from the lagging index once', async () => {
    const [alice, bob] = await pair();
    const group = randomUUID();
    const at = '2024-06-01T10:00:00.000000+00:00';
    await stack.repository.putMessage({ message_group_uuid: group, message: 'legacy', sender: alice, created_at: at });
    await stack.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: at,
      message: 'legacy',
      other: bob,
    });
    await stack.repository.putListItem({
      owner_user_uuid: bob.uuid,
      message_group_uuid: group,
      last_reply_at: at,
      message: 'legacy',
      other: alice,
    });
    await holdIndex();

    for (const [i, [app, from]] of (
      [
        [second, bob],
        [stack.app, alice],
        [second, bob],
      ] as const
    ).entries()) {
      expect((await post(app, from, { message: `reply ${i}`, message_group_uuid: group })).status).toBe(200);
      await drain();
    }

    expect(await listItems(group, [alice, bob])).toEqual({ [alice.handle]: ['reply 2'], [bob.handle]: ['reply 2'] });
    expect(staleIndexReadsOf(group)).toBeGreaterThan(0);
  });

  it('still answers 404 to a non-member of a conversation that is not on the index yet', async () => {
    const [alice, bob] = await pair();
    const [mallory] = await pair();
    await holdIndex();

    const { body: sent } = await post(stack.app, alice, { message: 'private', handle: bob.handle });

    expect((await read(second, mallory, sent.message_group_uuid)).status).toBe(404);
  });
});
