import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { testUser, useTestTable } from '../test/support/dynamodb.js';
import { runScript } from '../test/support/run-script.js';

const db = useTestTable();

const alice = testUser('alice');
const bob = testUser('bob');

let env: Record<string, string>;

beforeAll(async () => {
  env = { DYNAMODB_ENDPOINT: db.endpoint, DDB_MESSAGE_TABLE: db.table };
});

describe('npm run ddb:replay-stream', () => {
  it('moves stale group items forward to the newest message and removes duplicates', async () => {
    const group = randomUUID();
    const stale = '2024-05-01T09:00:00.000000+00:00';
    await db.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: stale,
      message: 'hi',
      other: bob,
    });
    await db.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: '2024-05-01T09:30:00.000000+00:00',
      message: 'dup',
      other: bob,
    });
    await db.repository.putListItem({
      owner_user_uuid: bob.uuid,
      message_group_uuid: group,
      last_reply_at: stale,
      message: 'hi',
      other: alice,
    });
    await db.repository.putMessage({ message_group_uuid: group, message: 'hi', sender: alice, created_at: stale });
    await db.repository.putMessage({
      message_group_uuid: group,
      message: 'are you there?',
      sender: alice,
      created_at: '2024-05-01T10:00:00.000000+00:00',
    });
    await db.repository.putMessage({
      message_group_uuid: group,
      message: 'yes, after the outage',
      sender: bob,
      created_at: '2024-05-01T11:00:00.000000+00:00',
    });

    const result = await runScript('ddb-replay-stream', [group], env);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [headline, ...memberLines] = result.stdout.trimEnd().split('\n');
    expect(headline).toBe(`conversation ${group}: newest message 2024-05-01T11:00:00.000000+00:00 by @bob: "yes, after the outage"`);
    expect(memberLines.sort()).toEqual(
      [
        `  GRP#${alice.uuid}: moved forward to 2024-05-01T11:00:00.000000+00:00, removed 2 older items`,
        `  GRP#${bob.uuid}: moved forward to 2024-05-01T11:00:00.000000+00:00, removed 1 older item`,
      ].sort(),
    );
    const members = await db.repository.listListItemsOnIndex(group);
    expect(members.map((m) => [m.owner_user_uuid, m.last_reply_at, m.message, m.user_handle]).sort()).toEqual(
      [
        [alice.uuid, '2024-05-01T11:00:00.000000+00:00', 'yes, after the outage', 'bob'],
        [bob.uuid, '2024-05-01T11:00:00.000000+00:00', 'yes, after the outage', 'alice'],
      ].sort(),
    );
  });

  it('finds the newest message by instant when the conversation mixes offsets (the original tools on two laptops)', async () => {
    const group = randomUUID();
    // Twelve messages from Tokyo, 21:00-21:11 UTC, then the newest from New York at 21:30 UTC, whose
    // sk sorts before all of Tokyo's as a string.
    const tokyo = Array.from({ length: 12 }, (_, i) => `2023-03-29T06:${String(i).padStart(2, '0')}:00+09:00`);
    const newYork = '2023-03-28T16:30:00.000000-05:00';
    for (const [owner, other] of [
      [alice, bob],
      [bob, alice],
    ]) {
      await db.repository.putListItem({
        owner_user_uuid: owner.uuid,
        message_group_uuid: group,
        last_reply_at: tokyo[0],
        message: 'm0',
        other,
      });
    }
    for (const [i, at] of tokyo.entries())
      await db.repository.putMessage({ message_group_uuid: group, message: `m${i}`, sender: bob, created_at: at });
    await db.repository.putMessage({ message_group_uuid: group, message: 'newest, from New York', sender: alice, created_at: newYork });

    const result = await runScript('ddb-replay-stream', [group], env);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.split('\n')[0]).toBe(`conversation ${group}: newest message ${newYork} by @alice: "newest, from New York"`);
    const members = await db.repository.listListItemsOnIndex(group);
    expect(members.map((m) => [m.last_reply_at, m.message])).toEqual([
      [newYork, 'newest, from New York'],
      [newYork, 'newest, from New York'],
    ]);
  });

  it('says so and changes nothing when the group items are already current', async () => {
    const group = randomUUID();
    const at = '2024-05-02T09:00:00.000000+00:00';
    await db.repository.putListItem({
      owner_user_uuid: alice.uuid,
      message_group_uuid: group,
      last_reply_at: at,
      message: 'hi',
      other: bob,
    });
    await db.repository.putListItem({
      owner_user_uuid: bob.uuid,
      message_group_uuid: group,
      last_reply_at: at,
      message: 'hi',
      other: alice,
    });
    await db.repository.putMessage({ message_group_uuid: group, message: 'hi', sender: alice, created_at: at });

    const result = await runScript('ddb-replay-stream', [group], env);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`  GRP#${alice.uuid}: already at ${at}\n`);
    expect(result.stdout).toContain(`  GRP#${bob.uuid}: already at ${at}\n`);
  });

  it('fails with one line for a conversation whose members are nowhere (no member items, no group items)', async () => {
    const group = randomUUID();
    await db.repository.putMessage({
      message_group_uuid: group,
      message: 'alone',
      sender: alice,
      created_at: '2024-05-03T09:00:00.000000+00:00',
    });

    const result = await runScript('ddb-replay-stream', [group], env);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ddb:replay-stream: conversation ${group}: 0 member(s) found, 2 expected (member items, or list items for an older conversation)\n`,
    );
  });

  it('rejects a missing or malformed message_group_uuid with the usage line', async () => {
    const missing = await runScript('ddb-replay-stream', [], env);
    const malformed = await runScript('ddb-replay-stream', ['not-a-uuid'], env);

    for (const result of [missing, malformed]) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^ddb:replay-stream: .*\(usage: npm run ddb:replay-stream -- <message_group_uuid> \[prod\]\)\n$/);
    }
    expect(malformed.stderr).toContain('not a message_group_uuid: "not-a-uuid"');
  });

  it('fails with one line for a conversation without messages', async () => {
    const group = randomUUID();

    const result = await runScript('ddb-replay-stream', [group], env);

    expect(result).toEqual({ code: 1, stdout: '', stderr: `ddb:replay-stream: conversation ${group} has no messages\n` });
  });

  it('fails with one line when DynamoDB cannot be reached', async () => {
    const result = await runScript('ddb-replay-stream', [randomUUID()], { ...env, DYNAMODB_ENDPOINT: 'http://127.0.0.1:1' });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^ddb:replay-stream: cannot reach the service \(.*connection refused\).*\n$/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
