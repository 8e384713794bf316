import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';

/*
 * Data written by the original Cruddur tools on laptops: their timestamps carry the machine's local
 * offset (`datetime.now(timezone.utc).astimezone().isoformat()`), here -05:00 (New York) and +09:00
 * (Tokyo), with and without microseconds. The items are written as those tools wrote them: raw
 * PutItem, no ElectroDB identifiers.
 */
let stack: ApiStack;
let alice: TestUser;
let bob: TestUser;
let token: string;

beforeAll(async () => {
  stack = await startApiStack({ env: { STREAM_EMULATOR: 'off' } });
  [alice, bob] = await Promise.all([stack.createUser('alice'), stack.createUser('bob')]);
  token = await stack.accessToken(alice);
});

afterAll(async () => {
  await stack?.stop();
});

const api = () => request(stack.app.getHttpServer());

async function putRaw(item: Record<string, unknown>): Promise<void> {
  await stack.dynamo.send(new PutItemCommand({ TableName: stack.config.dynamodb.table, Item: marshall(item) }));
}

async function putGroupItems(group: string, sk: string, message: string): Promise<void> {
  for (const [owner, other] of [
    [alice, bob],
    [bob, alice],
  ]) {
    await putRaw({
      pk: `GRP#${owner.uuid}`,
      sk,
      message_group_uuid: group,
      message,
      user_uuid: other.uuid,
      user_display_name: other.display_name,
      user_handle: other.handle,
    });
  }
}

/** Every page of a list, following X-Next-Cursor: the pages' bodies in the order they came. */
async function allPages(
  path: string,
  limit: number,
): Promise<{ statuses: number[]; pages: { created_at: string; message: string; uuid: string }[][] }> {
  const statuses: number[] = [];
  const pages: { created_at: string; message: string; uuid: string }[][] = [];
  let cursor: string | undefined;
  do {
    const res = await api()
      .get(path)
      .query({ limit, ...(cursor ? { cursor } : {}) })
      .set('Authorization', `Bearer ${token}`);
    statuses.push(res.status);
    if (res.status !== 200) break;
    pages.push(res.body);
    cursor = res.headers['x-next-cursor'];
  } while (cursor);
  return { statuses, pages };
}

describe('a conversation written from two machines, at -05:00 and at +09:00', () => {
  const group = randomUUID();
  // As stored; the UTC instant in the comment. String order is not time order across the two offsets.
  const sks = [
    '2023-03-28T16:02:11.141577-05:00', // 21:02:11 UTC
    '2023-03-28T16:03:00-05:00', //        21:03:00
    '2023-03-28T16:08:00.999999-05:00', // 21:08:00
    '2023-03-28T16:09:30-05:00', //        21:09:30
    '2023-03-29T06:05:00.000001+09:00', // 21:05:00
    '2023-03-29T06:06:12.345678+09:00', // 21:06:12
    '2023-03-29T06:07:00+09:00', //        21:07:00
  ];

  beforeAll(async () => {
    await putGroupItems(group, sks[6], 'last');
    for (const [i, sk] of sks.entries()) {
      const sender = i < 4 ? alice : bob;
      await putRaw({
        pk: `MSG#${group}`,
        sk,
        message_uuid: randomUUID(),
        message: `m${i}`,
        user_uuid: sender.uuid,
        user_display_name: sender.display_name,
        user_handle: sender.handle,
      });
    }
  });

  it('pages through every message exactly once with the cursors the API hands out', async () => {
    const { statuses, pages } = await allPages(`/api/messages/${group}`, 2);

    expect(statuses).toEqual([200, 200, 200, 200]);
    const seen = pages.flat().map((m) => m.message);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']));
  });

  it('follows the stored (string) order: newest page first, oldest first within a page, created_at verbatim', async () => {
    const { pages } = await allPages(`/api/messages/${group}`, 2);

    expect(pages.map((page) => page.map((m) => m.created_at))).toEqual([[sks[5], sks[6]], [sks[3], sks[4]], [sks[1], sks[2]], [sks[0]]]);
  });
});

describe('a conversation list whose latest replies carry offsets', () => {
  const groups = [
    ['2023-05-01T08:00:00.000000-05:00', randomUUID()],
    ['2023-05-01T09:00:00-05:00', randomUUID()],
    ['2023-05-02T01:00:00.123456+09:00', randomUUID()],
  ] as const;

  beforeAll(async () => {
    for (const [sk, group] of groups) await putGroupItems(group, sk, `at ${sk}`);
  });

  it('pages through every conversation exactly once with the cursors the API hands out', async () => {
    const { statuses, pages } = await allPages('/api/message_groups', 1);

    expect(statuses.every((s) => s === 200)).toBe(true);
    const listed = pages.flat().map((g) => g.uuid);
    expect(listed).toHaveLength(new Set(listed).size);
    expect(listed).toEqual(expect.arrayContaining(groups.map(([, group]) => group)));
    expect(pages.flat().map((g) => g.created_at)).toEqual(expect.arrayContaining(groups.map(([sk]) => sk)));
  });
});
