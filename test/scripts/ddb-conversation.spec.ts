import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { MessagesRepository, type UserRef } from '../../src/dynamodb/messages.repository.js';
import { seedDemoConversation } from '../../tools/seed/demo-conversation.seed.js';
import type { User } from '../../src/users/user.entity.js';
import { startScriptsStack, type ScriptsStack } from './scripts-stack.js';
import { expectOneLineFailure, UNREACHABLE_DYNAMODB, UNREACHABLE_POSTGRES } from './script-expectations.js';

let stack: ScriptsStack;
let andrew: User;
let bayko: User;
let carol: User;

const alice: UserRef = { uuid: randomUUID(), display_name: 'Alice', handle: 'alice' };
const bob: UserRef = { uuid: randomUUID(), display_name: 'Bob', handle: 'bob' };

beforeAll(async () => {
  stack = await startScriptsStack();
  [andrew, bayko] = stack.demoUsers;
  [carol] = await stack.users.ensureUsers([{ handle: 'carol', display_name: 'Carol C', email: 'carol@example.com' }]);
});

afterAll(async () => {
  await stack?.stop();
});

const newTable = () => stack.newTable();
const run = (script: string, args: string[], table: string, env?: Record<string, string>) => stack.run(script, args, table, env);

/** get-conversation prints a JSON array, then one line per message. */
function splitOutput(stdout: string): { json: { created_at: string; message: string; user_handle: string }[]; lines: string[] } {
  const end = stdout.indexOf('\n]\n') + 2 || stdout.indexOf('[]\n') + 2;
  return {
    json: JSON.parse(stdout.slice(0, end)),
    lines: stdout
      .slice(end + 1)
      .split('\n')
      .filter(Boolean),
  };
}

describe('ddb:get-conversation', () => {
  const group = randomUUID();
  let table: string;

  beforeAll(async () => {
    let repo: MessagesRepository;
    ({ table, repo } = await newTable());
    await repo.putMessage({
      message_group_uuid: group,
      sender: alice,
      created_at: '2022-12-31T23:59:59.999999+00:00',
      message: 'Happy new year!',
    });
    await repo.putMessage({
      message_group_uuid: group,
      sender: bob,
      created_at: '2023-03-28T20:43:05.123456+00:00',
      message: 'Have you ever watched Babylon 5? It is one of my favourite shows',
    });
    await repo.putMessage({
      message_group_uuid: group,
      sender: alice,
      created_at: '2023-04-05T18:27:02.123456',
      message: 'line one\nline two',
    });
    await repo.putMessage({
      message_group_uuid: group,
      sender: bob,
      created_at: '2023-04-06T00:05:00.000000+00:00',
      message: 'exactly forty characters long, no dots!!',
    });
    await repo.putMessage({
      message_group_uuid: randomUUID(),
      sender: bob,
      created_at: '2023-04-06T00:06:00.000000+00:00',
      message: 'another conversation',
    });
  });

  it('prints the messages as JSON, then one line each, oldest first', async () => {
    const result = await run('ddb-get-conversation', [group], table);

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const { json, lines } = splitOutput(result.stdout);
    expect(json.map((m) => m.created_at)).toEqual([
      '2022-12-31T23:59:59.999999+00:00',
      '2023-03-28T20:43:05.123456+00:00',
      '2023-04-05T18:27:02.123456',
      '2023-04-06T00:05:00.000000+00:00',
    ]);
    expect(json[0]).toMatchObject({ message_group_uuid: group, user_handle: 'alice', user_uuid: alice.uuid, message: 'Happy new year!' });
    expect(lines).toEqual([
      'alice  2022-12-31 11:59 PM  Happy new year!',
      'bob    2023-03-28 08:43 PM  Have you ever watched Babylon 5? It is o...',
      'alice  2023-04-05 06:27 PM  line one line two',
      'bob    2023-04-06 12:05 AM  exactly forty characters long, no dots!!',
    ]);
  });

  it('limits the messages to one year with --year', async () => {
    const [of2023, of2022] = await Promise.all([
      run('ddb-get-conversation', [group, '--year', '2023'], table),
      run('ddb-get-conversation', [`--year=2022`, group], table),
    ]);

    expect(splitOutput(of2023.stdout).json.map((m) => m.created_at.slice(0, 4))).toEqual(['2023', '2023', '2023']);
    expect(splitOutput(of2022.stdout).lines).toEqual(['alice  2022-12-31 11:59 PM  Happy new year!']);
  });

  it('prints an empty list, and says so on stderr, for a conversation without messages', async () => {
    const empty = randomUUID();

    const result = await run('ddb-get-conversation', [empty, '--year', '2023'], table);

    expect(result).toEqual({ code: 0, stdout: '[]\n', stderr: `no messages in conversation ${empty} in 2023\n` });
  });

  it("shows the first demo user's newest conversation when no conversation is named", async () => {
    const { table: demoTable, repo } = await newTable();
    await seedDemoConversation(repo, andrew, bayko, { now: Date.UTC(2023, 0, 1) * 1000 });
    const newer = randomUUID();
    await repo.putMessage({
      message_group_uuid: newer,
      sender: carol,
      created_at: '2023-06-01T09:30:00.000000+00:00',
      message: 'Newer news',
    });
    await repo.putListItem({
      owner_user_uuid: andrew.uuid,
      message_group_uuid: newer,
      last_reply_at: '2023-06-01T09:30:00.000000+00:00',
      message: 'Newer news',
      other: carol,
    });

    const result = await run('ddb-get-conversation', [], demoTable);

    expect(result.code).toBe(0);
    expect(splitOutput(result.stdout).lines).toEqual(['carol  2023-06-01 09:30 AM  Newer news']);
  });

  it('fails with one line when the first demo user has no conversations', async () => {
    const { table: emptyTable } = await newTable();

    expectOneLineFailure(
      await run('ddb-get-conversation', [], emptyTable),
      'ddb:get-conversation',
      /@andrewbrown has no conversations \(npm run ddb:seed\)/,
    );
  });

  it('needs Postgres only when no conversation is named', async () => {
    const named = await run('ddb-get-conversation', [group], table, { DATABASE_URL: '' });
    const unnamed = await run('ddb-get-conversation', [], table, { DATABASE_URL: '' });

    expect(named.code).toBe(0);
    expectOneLineFailure(unnamed, 'ddb:get-conversation', /no Postgres configured/);
  });

  it('rejects bad arguments with one usage line each', async () => {
    const cases: [string[], RegExp][] = [
      [['not-a-uuid'], /not a message_group_uuid: "not-a-uuid"/],
      [[group, '--year', '23'], /--year must be a 4-digit year, got "23"/],
      [[group, '--year', 'abcd'], /--year must be a 4-digit year, got "abcd"/],
      [[group, '--year'], /--year needs a value/],
      [[group, '--month', '03'], /unknown option --month/],
      [[group, group], /unexpected argument/],
    ];

    const results = await Promise.all(cases.map(([args]) => run('ddb-get-conversation', args, table)));

    results.forEach((result, i) => expectOneLineFailure(result, 'ddb:get-conversation', cases[i][1]));
    expect(results[0].stderr).toContain('(usage: npm run ddb:get-conversation -- [message_group_uuid] [--year YYYY] [prod])');
  });

  it('fails with one line when DynamoDB is unreachable', async () => {
    const result = await run('ddb-get-conversation', [group], table, { DYNAMODB_ENDPOINT: UNREACHABLE_DYNAMODB });

    expectOneLineFailure(result, 'ddb:get-conversation', /cannot reach the service/);
  });
});

describe('ddb:get-conversation on messages the original tools stamped with a local offset', () => {
  it('prints their times in UTC (the JSON keeps each sk as stored)', async () => {
    const { table } = await newTable();
    const group = randomUUID();
    const stamped: [UserRef, string, string][] = [
      [alice, '2023-03-28T16:02:11.141577-05:00', 'from New York'],
      [bob, '2023-03-29T06:05:00+09:00', 'from Tokyo'],
      [alice, '2023-03-29T02:36:00.5+05:30', 'from Mumbai'],
    ];
    for (const [sender, sk, message] of stamped) {
      // As the original tools wrote them: raw items, no ElectroDB identifiers.
      await stack.client.send(
        new PutItemCommand({
          TableName: table,
          Item: marshall({
            pk: `MSG#${group}`,
            sk,
            message_uuid: randomUUID(),
            message,
            user_uuid: sender.uuid,
            user_display_name: sender.display_name,
            user_handle: sender.handle,
          }),
        }),
      );
    }

    const result = await run('ddb-get-conversation', [group], table);

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const { json, lines } = splitOutput(result.stdout);
    expect(json.map((m) => m.created_at)).toEqual([
      '2023-03-28T16:02:11.141577-05:00',
      '2023-03-29T02:36:00.5+05:30',
      '2023-03-29T06:05:00+09:00',
    ]);
    expect(lines).toEqual([
      'alice  2023-03-28 09:02 PM  from New York',
      'alice  2023-03-28 09:06 PM  from Mumbai',
      'bob    2023-03-28 09:05 PM  from Tokyo',
    ]);
  });
});

describe('ddb:list-conversations', () => {
  let table: string;

  beforeAll(async () => {
    let repo: MessagesRepository;
    ({ table, repo } = await newTable());
    const groups: [UserRef, string][] = [
      [bayko, '2023-03-01T10:00:00.000000+00:00'],
      [carol, '2023-05-01T10:00:00.000000+00:00'],
      [alice, '2022-01-01T10:00:00.000000+00:00'],
    ];
    for (const [other, last_reply_at] of groups) {
      await repo.putListItem({
        owner_user_uuid: andrew.uuid,
        message_group_uuid: randomUUID(),
        last_reply_at,
        message: `hi ${other.handle}`,
        other,
      });
    }
  });

  it("prints the user's conversations as JSON, newest first", async () => {
    const result = await run('ddb-list-conversations', ['andrewbrown'], table);

    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const groups = JSON.parse(result.stdout) as Record<string, string>[];
    expect(groups.map((g) => [g.user_handle, g.last_reply_at, g.message])).toEqual([
      ['carol', '2023-05-01T10:00:00.000000+00:00', 'hi carol'],
      ['bayko', '2023-03-01T10:00:00.000000+00:00', 'hi bayko'],
      ['alice', '2022-01-01T10:00:00.000000+00:00', 'hi alice'],
    ]);
    expect(groups[0]).toMatchObject({ owner_user_uuid: andrew.uuid, user_uuid: carol.uuid, user_display_name: 'Carol C' });
  });

  it('accepts the handle with its @', async () => {
    const [plain, at] = await Promise.all([
      run('ddb-list-conversations', ['andrewbrown'], table),
      run('ddb-list-conversations', ['@andrewbrown'], table),
    ]);

    expect(at).toEqual(plain);
  });

  it('prints an empty list for a user without conversations', async () => {
    await expect(run('ddb-list-conversations', ['bayko'], table)).resolves.toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });

  it('fails with one line for an unknown handle', async () => {
    expectOneLineFailure(
      await run('ddb-list-conversations', ['nobody'], table),
      'ddb:list-conversations',
      /no user with handle @nobody in Postgres/,
    );
  });

  it('rejects bad arguments with one usage line each', async () => {
    const [none, two, flag] = await Promise.all([
      run('ddb-list-conversations', [], table),
      run('ddb-list-conversations', ['andrewbrown', 'bayko'], table),
      run('ddb-list-conversations', ['andrewbrown', '--all'], table),
    ]);

    expectOneLineFailure(none, 'ddb:list-conversations', /missing argument \(usage: npm run ddb:list-conversations -- <handle> \[prod\]\)/);
    expectOneLineFailure(two, 'ddb:list-conversations', /unexpected argument "bayko"/);
    expectOneLineFailure(flag, 'ddb:list-conversations', /unknown option --all/);
  });

  it('fails with one line when Postgres or DynamoDB is unreachable', async () => {
    const [postgresDown, dynamoDown] = await Promise.all([
      run('ddb-list-conversations', ['andrewbrown'], table, { DATABASE_URL: UNREACHABLE_POSTGRES }),
      run('ddb-list-conversations', ['andrewbrown'], table, { DYNAMODB_ENDPOINT: UNREACHABLE_DYNAMODB }),
    ]);

    expectOneLineFailure(postgresDown, 'ddb:list-conversations', /cannot reach the service \(127\.0\.0\.1:1 connection refused\)/);
    expectOneLineFailure(dynamoDown, 'ddb:list-conversations', /cannot reach the service \(127\.0\.0\.1:1 connection refused\)/);
  });
});
