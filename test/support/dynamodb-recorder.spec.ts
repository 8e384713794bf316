import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BatchWriteItemCommand,
  DescribeTableCommand,
  ExecuteStatementCommand,
  ListTablesCommand,
  TransactWriteItemsCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { MessagesRepository } from '../../src/dynamodb/messages.repository.js';
import { MESSAGE_TABLE } from '../../src/dynamodb/table.definition.js';
import { dynamoClient, testUser, useTestTable } from './dynamodb.js';
import { DynamoDbRecorder } from './dynamodb-recorder.js';

const db = useTestTable();
const alice = testUser('alice');
const bob = testUser('bob');
let client: DynamoDBClient;
let recorder: DynamoDbRecorder;
let repository: MessagesRepository;

beforeAll(() => {
  client = dynamoClient(db.endpoint);
  recorder = new DynamoDbRecorder().attach(client);
  repository = MessagesRepository.create(client, db.table);
});

afterAll(() => client?.destroy());

const pairs = () => recorder.calls().map(({ action, resource }) => `${action} ${resource}`);

describe('the DynamoDB recorder', () => {
  it("sees ElectroDB's commands (lib-dynamodb's, sent through the client) with their table and index", async () => {
    recorder.reset();
    const group = randomUUID();
    const at = '2024-01-01T00:00:00.000000+00:00';

    await repository.putListItem({ owner_user_uuid: alice.uuid, message_group_uuid: group, last_reply_at: at, message: 'hi', other: bob });
    // The same key again: the conditional put fails and the item is read back.
    await repository.putListItem({ owner_user_uuid: alice.uuid, message_group_uuid: group, last_reply_at: at, message: 'hi', other: bob });
    await repository.listListItemsOnIndex(group);
    await repository.listConversations(alice.uuid, { limit: 5 });
    await repository.deleteListItem(alice.uuid, at, group);

    expect(pairs()).toEqual([
      `dynamodb:DeleteItem table/${db.table}`,
      `dynamodb:GetItem table/${db.table}`,
      `dynamodb:PutItem table/${db.table}`,
      `dynamodb:Query table/${db.table}`,
      `dynamodb:Query table/${db.table}/index/${MESSAGE_TABLE.groupIndex.name}`,
    ]);
    expect(recorder.calls().find((c) => c.action === 'dynamodb:PutItem')?.count).toBe(2);
    expect(recorder.unmapped()).toEqual([]);
  });

  it("sees lib-dynamodb's commands as ElectroDB sends them (through the client, with options) and the SDK's own", async () => {
    recorder.reset();
    // ElectroDB sends lib-dynamodb's commands through the DynamoDBClient it is given, not through a
    // DynamoDBDocumentClient (which refuses a client with cacheMiddleware, as the app's is).
    const send = (command: GetCommand | QueryCommand) => client.send(command as never, { abortSignal: undefined });

    await send(new GetCommand({ TableName: db.table, Key: { pk: 'GRP#x', sk: 'y' } }));
    await send(
      new QueryCommand({
        TableName: db.table,
        IndexName: MESSAGE_TABLE.groupIndex.name,
        KeyConditionExpression: 'message_group_uuid = :g',
        ExpressionAttributeValues: { ':g': 'g' },
      }),
    );
    await client.send(new DescribeTableCommand({ TableName: db.table }));
    await client.send(new ListTablesCommand({}));

    expect(pairs()).toEqual([
      `dynamodb:DescribeTable table/${db.table}`,
      `dynamodb:GetItem table/${db.table}`,
      'dynamodb:ListTables *',
      `dynamodb:Query table/${db.table}/index/${MESSAGE_TABLE.groupIndex.name}`,
    ]);
  });

  it('records a batch under its own action per table, and each entry of a transaction as its item action', async () => {
    recorder.reset();
    const item = (sk: string) => ({ pk: { S: `GRP#${randomUUID()}` }, sk: { S: sk } });

    await client.send(new BatchWriteItemCommand({ RequestItems: { [db.table]: [{ PutRequest: { Item: item('a') } }] } }));
    // dynalite has no transactions (UnknownOperationException): the call is recorded before it is sent.
    const transaction = new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: db.table, Item: item('b') } },
        { ConditionCheck: { TableName: db.table, Key: item('c'), ConditionExpression: 'attribute_not_exists(pk)' } },
      ],
    });
    await expect(client.send(transaction)).rejects.toThrow();

    expect(pairs()).toEqual([
      `dynamodb:BatchWriteItem table/${db.table}`,
      `dynamodb:ConditionCheckItem table/${db.table}`,
      `dynamodb:PutItem table/${db.table}`,
    ]);
  });

  it('records calls that fail, and names the commands whose resource it cannot tell', async () => {
    recorder.reset();

    await expect(client.send(new DescribeTableCommand({ TableName: 'no-such-table' }))).rejects.toThrow();
    await client.send(new ExecuteStatementCommand({ Statement: `SELECT * FROM "${db.table}"` })).catch(() => undefined);

    expect(pairs()).toEqual(['dynamodb:DescribeTable table/no-such-table']);
    expect(recorder.unmapped()).toEqual([expect.stringMatching(/^ExecuteStatementCommand /)]);
  });
});
