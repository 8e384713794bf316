import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DynamoDBRecord } from 'aws-lambda';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { Template } from 'aws-cdk-lib/assertions';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import type { MessagingStack } from '../infra/messaging-stack.js';
import { createApp, initApp } from '../src/app.factory.js';
import { DYNAMODB_CLIENT } from '../src/dynamodb/dynamodb.module.js';
import { MessagesRepository, type UserRef } from '../src/dynamodb/messages.repository.js';
import { formatTimestamp, nowMicros } from '../src/dynamodb/timestamp.js';
import { createStreamHandler } from '../src/stream/stream.handler.js';
import { startApiStack, type ApiStack, type TestUser } from './support/api-stack.js';
import { DynamoDbRecorder } from './support/dynamodb-recorder.js';
import { dynamoClient, startTestTable, testUser, type TestTable } from './support/dynamodb.js';
import { audit, auditedCall, dynamoDbPolicyOf, matches, type Grant } from './support/iam-audit.js';
import { Lockstep } from './support/lockstep.js';
import { grantsOf, logicalId, synthesizeStages, type SynthesizedStages } from './support/messaging-stack.js';
import { eventOf, streamRecord, watchCommands } from './support/stream-fixtures.js';

/*
 * The IAM audit. The policy is the expectation and the traffic is the evidence: the API's and the
 * projector's code run everything they can do against dynalite, with every DynamoDB call recorded
 * as IAM authorizes it (action, and the table or its index); then the real MessagingStack is
 * synthesized, and each role's DynamoDB grants must cover every recorded call and hold nothing
 * the code never used. No list of expected calls lives here: when the code starts making a new
 * call, this test names it, and the policy in infra/ gets it.
 *
 * The traffic must reach every path that calls DynamoDB, races included: a call only made when two
 * requests collide is a call that fails on AWS when it is not granted (a conditional put that finds
 * its key taken reads the item back with GetItem).
 */

/** Grants no traffic here uses, each with why it stays. Empty: every grant is exercised. */
const UNUSED_BUT_JUSTIFIED: Record<'api' | 'projector', (Grant & { reason: string })[]> = {
  api: [
    {
      action: 'dynamodb:DeleteItem',
      resource: 'table',
      reason:
        "the API projects a new conversation's first message itself; when the stream's projection of a newer message overtakes it " +
        'between its put and its record, it deletes the list item it wrote (a race the traffic does not reproduce on demand)',
    },
  ],
  projector: [],
};

type Role = 'api' | 'projector';
const ROLES: Record<Role, { name: string; of: (stack: MessagingStack) => IRole; eventSourceStreamReads: boolean }> = {
  api: { name: 'the API task role', of: (stack) => stack.api.service.taskDefinition.taskRole, eventSourceStreamReads: false },
  // The projector's role also lets the event source mapping read the stream (see EVENT_SOURCE_STREAM_READS).
  projector: { name: "the projector's role", of: (stack) => stack.projector.function.role!, eventSourceStreamReads: true },
};

let stages: SynthesizedStages;
const recorders: Record<Role, DynamoDbRecorder> = { api: new DynamoDbRecorder(), projector: new DynamoDbRecorder() };
const tables: Partial<Record<Role, string>> = {};

beforeAll(() => {
  stages = synthesizeStages();
}, 120_000);

const policyOf = (role: Role, stack: MessagingStack, template: Template) => {
  const { statements, managedPolicyArns } = grantsOf(template, stack.getLogicalId(ROLES[role].of(stack).node.defaultChild as never));
  // An AWS-managed policy's statements are not in the template: the audit could not see what it grants.
  expect(managedPolicyArns).toEqual([]);
  return dynamoDbPolicyOf(statements, logicalId(stack, stack.table), { eventSourceStreamReads: ROLES[role].eventSourceStreamReads });
};
const recordedCalls = (role: Role) => recorders[role].calls().map((call) => auditedCall(call, tables[role]!));
const describeGrant = ({ action, resource }: Grant) => `${action} on ${resource}`;

/** The audit of one role in both stages (the same code builds them; checked, not assumed). */
function auditRole(role: Role) {
  it(`${ROLES[role].name} allows every DynamoDB call the code made`, () => {
    expect(recorders[role].unmapped()).toEqual([]);
    expect(recordedCalls(role).length).toBeGreaterThan(0);
    for (const [stack, template] of [
      [stages.prod, stages.prodTemplate],
      [stages.dev, stages.devTemplate],
    ] as const) {
      expect({ stage: stack.node.id, notAllowed: audit(recordedCalls(role), policyOf(role, stack, template)).denied }).toEqual({
        stage: stack.node.id,
        notAllowed: [],
      });
    }
  });

  it(`${ROLES[role].name} grants no DynamoDB call the code never made`, () => {
    const justified = (grant: Grant) => UNUSED_BUT_JUSTIFIED[role].some((j) => j.action === grant.action && j.resource === grant.resource);
    for (const [stack, template] of [
      [stages.prod, stages.prodTemplate],
      [stages.dev, stages.devTemplate],
    ] as const) {
      const { unused } = audit(recordedCalls(role), policyOf(role, stack, template));
      expect({ stage: stack.node.id, unused: unused.filter((grant) => !justified(grant)).map(describeGrant) }).toEqual({
        stage: stack.node.id,
        unused: [],
      });
      // A justification outlives its reason when the grant is gone or the traffic uses it after all.
      for (const entry of UNUSED_BUT_JUSTIFIED[role]) expect(unused.map(describeGrant)).toContain(describeGrant(entry));
    }
  });
}

describe('IAM audit: the API task role', () => {
  let stack: ApiStack;
  let secondTask: NestFastifyApplication;
  /** While set, DynamoDB refuses (throttles) every write of a message item the API sends. */
  const faults = { messageWrites: false };
  const tokens = new Map<string, string>();

  const hook = (client: DynamoDBClient) => {
    recorders.api.attach(client);
    watchCommands(
      client,
      (command, input) =>
        faults.messageWrites && !/^(Get|BatchGet|TransactGet|Query|Scan|Describe|List)/.test(command) && input.includes('"MSG#'),
    );
  };

  beforeAll(async () => {
    // The projector's calls are the projector's: no stream emulator inside the API here.
    stack = await startApiStack({ env: { STREAM_EMULATOR: 'off' }, onDynamoDbClient: hook });
    tables.api = stack.config.dynamodb.table;
    // A second task on the same table and database, as behind the load balancer: it has seen none of the first one's conversations.
    secondTask = await createApp(stack.config, { logger: false });
    hook(secondTask.get<DynamoDBClient>(DYNAMODB_CLIENT));
    await initApp(secondTask);
    await apiTraffic(stack, secondTask, faults, tokens);
  }, 120_000);

  afterAll(async () => {
    await secondTask?.close();
    await stack?.stop();
  });

  auditRole('api');
});

describe("IAM audit: the projector's role", () => {
  let table: TestTable;
  let client: DynamoDBClient;

  beforeAll(async () => {
    table = await startTestTable();
    tables.projector = table.table;
    client = dynamoClient(table.endpoint);
    recorders.projector.attach(client);
    await projectorTraffic(table, client);
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await table?.stop();
  });

  auditRole('projector');
});

describe("the audit's reading of a policy", () => {
  const TABLE = 'MessageTable477906EA';
  const arn = { 'Fn::GetAtt': [TABLE, 'Arn'] };
  const calls = [
    { action: 'dynamodb:GetItem', resource: 'table', count: 1 },
    { action: 'dynamodb:Query', resource: 'table/index/message-group-sk-index', count: 2 },
  ];

  it('reads the table, its indexes and its stream from the template, and wildcards as IAM does', () => {
    const policy = dynamoDbPolicyOf(
      [
        { Effect: 'Allow', Action: ['dynamodb:get*', 's3:GetObject'], Resource: arn },
        { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [arn, '/index/*']] } },
        { Effect: 'Allow', Action: 'dynamodb:GetRecords', Resource: { 'Fn::GetAtt': [TABLE, 'StreamArn'] } },
        { Effect: 'Allow', Action: 'dynamodb:ListStreams', Resource: '*' },
      ],
      TABLE,
      { eventSourceStreamReads: true },
    );

    expect(policy).toEqual({
      allow: [
        { action: 'dynamodb:get*', resource: 'table' },
        { action: 'dynamodb:Query', resource: 'table/index/*' },
      ],
      deny: [],
    });
    expect(audit(calls, policy)).toEqual({ denied: [], unused: [] });
    expect(matches('table', 'table/index/message-group-sk-index', false)).toBe(false);
  });

  it('reports calls not allowed or denied, and grants not used', () => {
    const policy = dynamoDbPolicyOf(
      [
        { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], Resource: arn },
        { Effect: 'Deny', Action: 'dynamodb:GetItem', Resource: '*' },
      ],
      TABLE,
    );

    expect(audit(calls, policy)).toEqual({
      denied: ['dynamodb:GetItem on table (1 calls)', 'dynamodb:Query on table/index/message-group-sk-index (2 calls)'],
      unused: [
        { action: 'dynamodb:PutItem', resource: 'table' },
        { action: 'dynamodb:Query', resource: 'table' },
      ],
    });
  });

  it('refuses what it cannot evaluate: conditions, NotAction, resources it cannot name', () => {
    expect(() => dynamoDbPolicyOf([{ Effect: 'Allow', Action: 'dynamodb:Query', Resource: arn, Condition: { Bool: {} } }], TABLE)).toThrow(
      /conditions/,
    );
    expect(() => dynamoDbPolicyOf([{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }], TABLE)).toThrow(/NotAction/);
    expect(() =>
      dynamoDbPolicyOf([{ Effect: 'Allow', Action: 'dynamodb:Query', Resource: 'arn:aws:dynamodb:us-east-1:1:table/x' }], TABLE),
    ).toThrow(/cannot read/);
  });
});

/**
 * Everything the API does with DynamoDB, through both tasks: the health check, patterns A-D,
 * cursors, membership refusals, Idempotency-Key retries (sequential, concurrent, during the first
 * attempt, after a lost answer), a conversation of the original tools, and a first message whose
 * write DynamoDB refuses.
 */
async function apiTraffic(
  stack: ApiStack,
  secondTask: NestFastifyApplication,
  faults: { messageWrites: boolean },
  tokens: Map<string, string>,
) {
  const [one, two] = [stack.app, secondTask];
  const api = (task: NestFastifyApplication) => request(task.getHttpServer());
  const auth = (user: TestUser) => ({ Authorization: `Bearer ${tokens.get(user.handle)}` });
  const post = (task: NestFastifyApplication, user: TestUser, body: object, key?: string) =>
    api(task)
      .post('/api/messages')
      .set({ ...auth(user), ...(key ? { 'Idempotency-Key': key } : {}) })
      .send(body);
  const get = (task: NestFastifyApplication, user: TestUser, path: string) => api(task).get(path).set(auth(user));
  const keyRows = (sql: string, key: string) => stack.app.get<DataSource>(getDataSourceToken()).query(sql, [key]);
  const users = async (n: number) => {
    const created = await Promise.all(Array.from({ length: n }, () => stack.createUser()));
    for (const user of created) tokens.set(user.handle, await stack.accessToken(user));
    return created;
  };
  const [a, b, c, outsider, racer, lateRacer, legacyA, legacyB, unlucky, other] = await users(10);

  for (const task of [one, two]) expect((await api(task).get('/api/health')).status).toBe(200);

  // Pattern C: a new conversation by handle; again by handle, on the task that has not seen it, from both members.
  const first = await post(one, a, { message: 'Hi b', handle: b.handle });
  expect(first.status).toBe(200);
  const group: string = first.body.message_group_uuid;
  for (const [from, to] of [
    [a, b],
    [b, a],
  ]) {
    const again = await post(two, from, { message: `again to ${to.handle}`, handle: to.handle });
    expect([again.status, again.body.message_group_uuid]).toEqual([200, group]);
  }
  // Pattern D: replies on both tasks.
  for (const [task, user] of [
    [one, b],
    [two, a],
  ] as const)
    expect((await post(task, user, { message: 'reply', message_group_uuid: group })).status).toBe(200);

  // Pattern A and B, each with a cursor to a second page.
  expect((await post(one, a, { message: 'Hi c', handle: c.handle })).status).toBe(200);
  for (const [task, path] of [
    [two, `/api/messages/${group}`],
    [one, '/api/message_groups'],
  ] as const) {
    const page = await get(task, a, `${path}?limit=1`);
    expect([page.status, page.headers['x-next-cursor']]).toEqual([200, expect.any(String)]);
    expect((await get(task, a, `${path}?limit=1&cursor=${encodeURIComponent(page.headers['x-next-cursor'])}`)).status).toBe(200);
  }

  // Read state: marking the conversation read, up to the newest message and up to an older one.
  expect((await api(two).post(`/api/message_groups/${group}/read`).set(auth(b))).status).toBe(200);
  const older = (await get(one, a, `/api/messages/${group}`)).body[0].created_at as string;
  expect((await api(one).post(`/api/message_groups/${group}/read`).set(auth(a)).send({ up_to: older })).status).toBe(200);

  // Membership refused: someone else's conversation, read or replied to.
  expect((await get(one, outsider, `/api/messages/${group}`)).status).toBe(404);
  expect((await post(two, outsider, { message: 'let me in', message_group_uuid: group })).status).toBe(404);

  // Idempotency-Key, a sequential retry: the stored answer.
  const key = randomUUID();
  const once = await post(one, a, { message: 'once', message_group_uuid: group }, key);
  expect((await post(two, a, { message: 'once', message_group_uuid: group }, key)).body).toEqual(once.body);

  // Concurrent retries with one key, spread over both tasks: a reply, and a new conversation by handle.
  for (const body of [
    { message: 'raced', message_group_uuid: group },
    { message: 'raced hello', handle: racer.handle },
  ]) {
    const raceKey = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(i % 2 ? two : one, a, body, raceKey)));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(answers.map((r) => r.body.uuid)).size).toBe(1);
  }

  // A retry while the first attempt still holds its key, after it wrote its message but before its
  // answer was stored (what a concurrent retry sees, made certain): same plan, the conditional put
  // finds its key taken, and the item is read back.
  for (const body of [
    { message: 'in flight', message_group_uuid: group },
    { message: 'in flight hello', handle: lateRacer.handle },
  ]) {
    const flightKey = randomUUID();
    const answered = await post(one, a, body, flightKey);
    await keyRows(
      `UPDATE public.idempotency_keys SET response = 'null', locked_until = now() + interval '1 minute' WHERE key = $1`,
      flightKey,
    );
    const retry = await post(two, a, body, flightKey);
    expect([retry.status, retry.body]).toEqual([200, answered.body]);
  }

  // A keyed retry after the stored answer was lost (the attempt ended without one): it finds its message.
  for (const body of [
    { message: 'lost answer', message_group_uuid: group },
    { message: 'lost answer hello', handle: c.handle },
  ]) {
    const lostKey = randomUUID();
    const answered = await post(one, a, body, lostKey);
    await keyRows(`UPDATE public.idempotency_keys SET response = 'null', locked_until = NULL WHERE key = $1`, lostKey);
    const retry = await post(two, a, body, lostKey);
    expect([retry.status, retry.body]).toEqual([200, answered.body]);
  }

  // A conversation written by the original Cruddur tools: a random id, no ElectroDB identifiers, legacy timestamps.
  const legacy = await writeLegacyConversation(stack.dynamo, stack.config.dynamodb.table, legacyA, legacyB);
  const continued = await post(two, legacyA, { message: 'back again', handle: legacyB.handle });
  expect([continued.status, continued.body.message_group_uuid]).toEqual([200, legacy]);
  expect((await get(one, legacyB, `/api/messages/${legacy}?limit=2`)).status).toBe(200);
  expect((await post(one, legacyB, { message: 'welcome back', message_group_uuid: legacy })).status).toBe(200);
  expect((await get(two, legacyB, '/api/message_groups')).body.map((g: { uuid: string }) => g.uuid)).toContain(legacy);

  // A first message whose write DynamoDB refuses: 503, and nothing half-written stays; the retry goes through.
  faults.messageWrites = true;
  const refused = await post(one, unlucky, { message: 'first try', handle: other.handle });
  faults.messageWrites = false;
  expect(refused.status).toBe(503);
  expect((await get(one, unlucky, '/api/message_groups')).body).toEqual([]);
  expect((await post(one, unlucky, { message: 'second try', handle: other.handle })).status).toBe(200);
}

/** Two users' conversation as the original tools wrote it (raw puts through the test's own client). */
async function writeLegacyConversation(
  client: DynamoDBClient,
  table: string,
  a: UserRef,
  b: UserRef,
  text = 'from the old days',
): Promise<string> {
  const group = randomUUID();
  const member = (owner: UserRef, other: UserRef) => ({
    pk: `GRP#${owner.uuid}`,
    sk: '2023-04-05T18:27:03+00:00',
    message_group_uuid: group,
    message: text,
    user_uuid: other.uuid,
    user_display_name: other.display_name,
    user_handle: other.handle,
  });
  const message = (sk: string, sender: UserRef, message: string) => ({
    pk: `MSG#${group}`,
    sk,
    message_uuid: randomUUID(),
    message,
    user_uuid: sender.uuid,
    user_display_name: sender.display_name,
    user_handle: sender.handle,
  });
  for (const item of [
    message('2023-04-05T18:27:02.123456', a, 'no offset'),
    message('2023-04-05T18:27:03+00:00', b, text),
    member(a, b),
    member(b, a),
  ]) {
    await client.send(new PutItemCommand({ TableName: table, Item: marshall(item) }));
  }
  return group;
}

/**
 * Everything the projector does with DynamoDB, as the stream delivers it: new conversations,
 * replies, duplicates and redelivery, late (out-of-order) records, records it skips, many
 * conversations in one batch, one conversation projected by concurrent invocations, a conversation
 * of the original tools, a member left with two items, a failed projection retried. The table is
 * written through the test's own client (the API's part); only the projector's client is recorded.
 */
async function projectorTraffic(table: TestTable, client: DynamoDBClient) {
  const repository = MessagesRepository.create(client, table.table);
  const lockstep = new Lockstep().attach(client);
  /** Conversations whose every DynamoDB call from the projector is refused (throttled). */
  const failing = new Set<string>();
  watchCommands(client, (_command, input) => [...failing].some((group) => input.includes(group)));
  const quiet = new Logger({ logLevel: 'SILENT' });
  /** A new handler per invocation, as a new Lambda container would be (a handler holds one batch at a time). */
  const handler = () => createStreamHandler({ repository, logger: quiet });
  const deliver = async (...records: DynamoDBRecord[]) => {
    const { batchItemFailures } = await handler()(eventOf(...records));
    expect(batchItemFailures).toEqual([]);
  };

  let clock = nowMicros() - 3_600_000_000;
  const tick = () => formatTimestamp((clock += 1_000_000));

  /** A message stored through the test's client, and its INSERT as the stream carries it (the stored item). */
  const say = async (group: string, sender: UserRef, text: string, at = tick()) => {
    const written = await table.repository.putMessage({ message_group_uuid: group, message: text, sender, created_at: at });
    return insertOf(table, group, written.created_at);
  };
  /** A conversation as pattern C starts it: both members' group items, then the first message. */
  const start = async (a: UserRef, b: UserRef, text = 'hello') => {
    const group = randomUUID();
    const at = tick();
    await table.repository.putListItem({ owner_user_uuid: a.uuid, message_group_uuid: group, last_reply_at: at, message: text, other: b });
    await table.repository.putListItem({ owner_user_uuid: b.uuid, message_group_uuid: group, last_reply_at: at, message: text, other: a });
    return { group, first: await say(group, a, text, at) };
  };
  /** Each member's group items of the conversation: owner → the messages they show, newest first. */
  const lists = async (group: string) => {
    const items = await table.repository.listListItemsOnIndex(group);
    const byOwner: Record<string, string[]> = {};
    for (const item of items) (byOwner[item.owner_user_uuid] ??= []).push(item.message);
    return byOwner;
  };
  const bothShow = (a: UserRef, b: UserRef, text: string) => ({ [a.uuid]: [text], [b.uuid]: [text] });
  const pair = (): [UserRef, UserRef] => [testUser('alice'), testUser('bob')];

  // A new conversation, then a reply; the reply again (redelivery), twice in one batch, and an older message late.
  const [a, b] = pair();
  const { group, first } = await start(a, b);
  await deliver(first);
  const older = tick();
  const reply = await say(group, b, 'reply');
  await deliver(reply);
  await deliver(reply);
  await deliver(reply, reply);
  await deliver(await say(group, a, 'late', older));
  expect(await lists(group)).toEqual(bothShow(a, b, 'reply'));

  // Several replies of one conversation in one batch, with the records the projector skips.
  const replies = [await say(group, a, 'one'), await say(group, b, 'two'), await say(group, a, 'three')];
  const groupItem = {
    pk: `GRP#${a.uuid}`,
    sk: tick(),
    message_group_uuid: group,
    message: 'x',
    user_uuid: b.uuid,
    user_display_name: 'B',
    user_handle: 'bob',
  };
  await deliver(
    replies[0],
    streamRecord('MODIFY', unmarshall(replies[1].dynamodb!.NewImage! as never)),
    replies[1],
    streamRecord('REMOVE', unmarshall(replies[0].dynamodb!.NewImage! as never)),
    streamRecord('INSERT', groupItem),
    replies[2],
  );
  expect((await lists(group))[b.uuid]).toEqual(['three']);

  // Many conversations in one batch (more than are projected at once).
  const many = await Promise.all(
    Array.from({ length: 12 }, async () => {
      const [x, y] = pair();
      const started = await start(x, y);
      return { x, y, ...started, reply: await say(started.group, y, 'busy') };
    }),
  );
  await deliver(...many.flatMap((c) => [c.first, c.reply]));
  for (const c of many) expect(await lists(c.group)).toEqual(bothShow(c.x, c.y, 'busy'));

  // One conversation projected by concurrent invocations, in lockstep (so their races happen):
  // the same records twice (a replay beside the Lambda), and different replies at once.
  for (const sameRecords of [true, false]) {
    const [x, y] = pair();
    const conversation = await start(x, y);
    await deliver(conversation.first);
    const batches = sameRecords
      ? Array(3).fill([await say(conversation.group, y, 'raced')])
      : [
          [await say(conversation.group, x, 'first of three')],
          [await say(conversation.group, y, 'second of three')],
          [await say(conversation.group, x, 'raced')],
        ];
    const responses = await lockstep.run(batches.length, (lane) => handler()(eventOf(...batches[lane])));
    expect(responses).toEqual(Array(batches.length).fill({ batchItemFailures: [] }));
    expect(await lists(conversation.group)).toEqual(bothShow(x, y, 'raced'));
  }

  // A conversation of the original tools (no ElectroDB identifiers, legacy timestamps), replied to.
  const [l1, l2] = pair();
  const legacy = await writeLegacyConversation(table.client, table.table, l1, l2);
  await deliver(await insertOf(table, legacy, '2023-04-05T18:27:03+00:00'), await say(legacy, l2, 'new times'));
  expect(await lists(legacy)).toEqual(bothShow(l1, l2, 'new times'));

  // A member left with two items of the conversation (an interrupted projection), then a reply.
  const [d1, d2] = pair();
  const doubled = await start(d1, d2);
  await table.repository.putListItem({
    owner_user_uuid: d1.uuid,
    message_group_uuid: doubled.group,
    last_reply_at: tick(),
    message: 'left over',
    other: d2,
  });
  await deliver(await say(doubled.group, d2, 'tidy up'));
  expect(await lists(doubled.group)).toEqual(bothShow(d1, d2, 'tidy up'));

  // A projection that fails is reported (the rest of its batch goes through), and its redelivery goes through.
  const [f1, f2] = pair();
  const flaky = await start(f1, f2);
  const flakyReply = await say(flaky.group, f2, 'eventually');
  const [h1, h2] = pair();
  const healthy = await start(h1, h2);
  failing.add(flaky.group);
  const failed = await handler()(eventOf(flakyReply, healthy.first));
  failing.delete(flaky.group);
  expect(failed.batchItemFailures).toEqual([{ itemIdentifier: flakyReply.dynamodb!.SequenceNumber }]);
  await deliver(flakyReply);
  expect(await lists(flaky.group)).toEqual(bothShow(f1, f2, 'eventually'));
}

/** The INSERT of a stored message item, with the item exactly as stored as its NEW_IMAGE. */
async function insertOf(table: TestTable, group: string, sk: string): Promise<DynamoDBRecord> {
  const { Item } = await table.client.send(
    new GetItemCommand({ TableName: table.table, Key: marshall({ pk: `MSG#${group}`, sk }), ConsistentRead: true }),
  );
  if (!Item) throw new Error(`no message at MSG#${group} ${sk}`);
  return streamRecord('INSERT', unmarshall(Item));
}
