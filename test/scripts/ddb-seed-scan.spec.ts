import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { MessagesRepository } from '../../src/dynamodb/messages.repository.js';
import type { User } from '../../src/users/user.entity.js';
import { createTestDatabase } from '../support/postgres.js';
import { runScript } from '../support/run-script.js';
import { startScriptsStack, type ScriptsStack } from './scripts-stack.js';
import { expectOneLineFailure, UNREACHABLE_DYNAMODB, UNREACHABLE_POSTGRES } from './script-expectations.js';

let stack: ScriptsStack;
let andrew: User;
let bayko: User;

beforeAll(async () => {
  stack = await startScriptsStack();
  [andrew, bayko] = stack.demoUsers;
});

afterAll(async () => {
  await stack?.stop();
});

const newTable = () => stack.newTable();
const run = (script: string, args: string[], table: string, env?: Record<string, string>) => stack.run(script, args, table, env);

async function itemCount(repo: MessagesRepository): Promise<number> {
  let n = 0;
  for await (const _ of repo.scanAll()) n++;
  return n;
}

describe('ddb:seed', () => {
  it("writes the demo users' conversation with both members' group items", async () => {
    const { table, repo } = await newTable();

    const result = await run('ddb-seed', [], table);

    expect(result.code).toBe(0);
    const [groupOfAndrew] = await repo.listAllConversations(andrew.uuid);
    const messages = await repo.listAllMessages(groupOfAndrew.message_group_uuid);
    expect(result.stdout).toBe(
      `seeded conversation ${groupOfAndrew.message_group_uuid}: ${messages.length} messages between @andrewbrown and @bayko\n`,
    );
    expect(messages.length).toBeGreaterThanOrEqual(20);
    expect(groupOfAndrew).toMatchObject({ user_uuid: bayko.uuid, user_handle: 'bayko', last_reply_at: messages.at(-1)!.created_at });
    await expect(repo.listAllConversations(bayko.uuid)).resolves.toMatchObject([
      { user_uuid: andrew.uuid, message_group_uuid: groupOfAndrew.message_group_uuid },
    ]);
    expect(Date.parse(messages.at(-1)!.created_at)).toBeLessThan(Date.now());
  });

  it('writes nothing when the conversation already exists', async () => {
    const { table, repo } = await newTable();
    await run('ddb-seed', [], table);
    const before = await itemCount(repo);

    const result = await run('ddb-seed', [], table);

    const [group] = await repo.listAllConversations(andrew.uuid);
    expect(result).toEqual({
      code: 0,
      stdout: `@andrewbrown and @bayko already have a conversation (${group.message_group_uuid}); nothing written\n`,
      stderr: '',
    });
    await expect(itemCount(repo)).resolves.toBe(before);
  });

  it('fails with one line, writing nothing, when the demo users are not in Postgres', async () => {
    const { table, repo } = await newTable();
    const empty = await createTestDatabase();
    try {
      const result = await run('ddb-seed', [], table, { DATABASE_URL: empty.url });

      expectOneLineFailure(result, 'ddb:seed', /demo user @andrewbrown is not in Postgres \(npm run db:seed\)/);
      await expect(itemCount(repo)).resolves.toBe(0);
    } finally {
      await empty.drop();
    }
  });

  it('rejects an unknown option with one usage line and writes nothing', async () => {
    const { table, repo } = await newTable();

    const result = await run('ddb-seed', ['--force'], table);

    expectOneLineFailure(result, 'ddb:seed', /unknown option --force \(usage: npm run ddb:seed -- \[prod\]\)/);
    await expect(itemCount(repo)).resolves.toBe(0);
  });

  it('never runs the in-process stream emulator with prod, whatever APP_ENV says', async () => {
    // The projector logs every batch at DEBUG: the emulator's batches show on stdout when it runs.
    const debug = { POWERTOOLS_LOG_LEVEL: 'DEBUG' };
    const runs = await Promise.all([
      newTable().then(({ table }) => run('ddb-seed', [], table, { ...debug, APP_ENV: '' })),
      newTable().then(({ table }) => run('ddb-seed', ['prod'], table, { ...debug, APP_ENV: '' })),
      newTable().then(({ table }) => run('ddb-seed', ['prod'], table, { ...debug, APP_ENV: 'local' })),
    ]);

    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(runs.map((r) => r.stdout.includes('"batch projected"'))).toEqual([true, false, false]);
    expect(runs[1].stdout).toMatch(/^seeded conversation [0-9a-f-]{36}: \d+ messages between @andrewbrown and @bayko\n$/);
  });

  it('fails with one line when no database is configured', async () => {
    const { table } = await newTable();

    const result = await runScript('ddb-seed', [], { DYNAMODB_ENDPOINT: stack.endpoint, DDB_MESSAGE_TABLE: table }, stack.cwd);

    expectOneLineFailure(result, 'ddb:seed', /no Postgres configured/);
  });

  it('fails with one line when Postgres is unreachable', async () => {
    const { table } = await newTable();

    expectOneLineFailure(await run('ddb-seed', [], table, { DATABASE_URL: UNREACHABLE_POSTGRES }), 'ddb:seed', /cannot reach the service/);
  });

  it('fails with one line when DynamoDB is unreachable', async () => {
    const result = await run('ddb-seed', [], 'any-table', { DYNAMODB_ENDPOINT: UNREACHABLE_DYNAMODB });

    expectOneLineFailure(result, 'ddb:seed', /cannot reach the service \(127\.0\.0\.1:1 connection refused\)/);
  });

  it('points to ddb:schema-load when the table is missing', async () => {
    const result = await run('ddb-seed', [], 'no-such-table');

    expectOneLineFailure(result, 'ddb:seed', /\(has the table been created\? npm run ddb:schema-load\)/);
  });
});

describe('ddb:scan', () => {
  it('prints every item as stored, one JSON object a line, and the count on stderr', async () => {
    const { table, repo } = await newTable();
    const group = await repo.putListItem({
      owner_user_uuid: andrew.uuid,
      message_group_uuid: 'g-1',
      last_reply_at: '2023-03-28T21:02:11.141577+00:00',
      message: 'hi',
      other: bayko,
    });
    await repo.putMessage({ message_group_uuid: 'g-1', message: 'hi', sender: bayko, created_at: group.last_reply_at });

    const result = await run('ddb-scan', [], table);

    expect(result.code).toBe(0);
    const items = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>);
    expect(items.map((i) => [i.pk, i.sk]).sort()).toEqual([
      [`GRP#${andrew.uuid}`, '2023-03-28T21:02:11.141577+00:00'],
      ['MSG#g-1', '2023-03-28T21:02:11.141577+00:00'],
    ]);
    expect(result.stderr).toBe(`2 items in ${table} at ${stack.endpoint}\n`);
  });

  it('reads past the first page', async () => {
    const { table } = await newTable();
    // ~1.2 MB: more than one 1 MB Scan page.
    const items = Array.from({ length: 1200 }, (_, i) => ({
      pk: `MSG#bulk`,
      sk: `2023-01-01T00:00:00.${String(i).padStart(6, '0')}+00:00`,
      message: 'x'.repeat(1000),
    }));
    for (let i = 0; i < items.length; i += 25) {
      const batch = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } }));
      const { UnprocessedItems } = await stack.client.send(new BatchWriteItemCommand({ RequestItems: { [table]: batch } }));
      expect(UnprocessedItems?.[table] ?? []).toEqual([]);
    }
    await expect(stack.client.send(new ScanCommand({ TableName: table }))).resolves.toHaveProperty('LastEvaluatedKey');

    const result = await run('ddb-scan', [], table);

    expect(result.code).toBe(0);
    expect(
      new Set(
        result.stdout
          .trimEnd()
          .split('\n')
          .map((line) => (JSON.parse(line) as { sk: string }).sk),
      ).size,
    ).toBe(1200);
    expect(result.stderr).toBe(`1200 items in ${table} at ${stack.endpoint}\n`);
  });

  it('says so when the table is empty', async () => {
    const { table } = await newTable();

    await expect(run('ddb-scan', [], table)).resolves.toEqual({
      code: 0,
      stdout: '',
      stderr: `0 items in ${table} at ${stack.endpoint}\n`,
    });
  });

  it('rejects an extra argument with one usage line', async () => {
    const { table } = await newTable();

    expectOneLineFailure(
      await run('ddb-scan', [table], table),
      'ddb:scan',
      /unexpected argument ".*" \(usage: npm run ddb:scan -- \[prod\]\)/,
    );
  });

  it('fails with one line when DynamoDB is unreachable', async () => {
    const result = await run('ddb-scan', [], 'any-table', { DYNAMODB_ENDPOINT: UNREACHABLE_DYNAMODB });

    expectOneLineFailure(result, 'ddb:scan', /cannot reach the service/);
  });
});
