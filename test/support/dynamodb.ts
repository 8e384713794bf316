import { afterAll, beforeAll } from '@jest/globals';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { createDynamoDbClient } from '../../src/dynamodb/dynamodb.client.js';
import { MessagesRepository, type UserRef } from '../../src/dynamodb/messages.repository.js';
import { dropTable, ensureMessageTable } from '../../tools/dynamodb/message-table.js';

/** An in-process dynalite (in memory) on a free port, for one test file. */
export async function startDynalite(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve, reject) => server.close((err?: Error) => (err ? reject(err) : resolve()))),
  };
}

export function uniqueTableName(prefix = 'test-messages'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function dynamoClient(endpoint: string): DynamoDBClient {
  return createDynamoDbClient({ aws: { region: 'us-east-1' }, dynamodb: { endpoint, table: 'unused' } });
}

export async function createMessageTable(client: DynamoDBClient, name = uniqueTableName()): Promise<string> {
  await ensureMessageTable(client, name);
  return name;
}

export { dropTable };

/** One test file's DynamoDB: an in-process dynalite, a fresh message table and the repository over it. */
export interface TestTable {
  endpoint: string;
  client: DynamoDBClient;
  table: string;
  repository: MessagesRepository;
  stop(): Promise<void>;
}

/**
 * This test file's table: started before its tests (a `beforeAll`), stopped after them. Its fields
 * are there once the tests run.
 */
export function useTestTable(): TestTable {
  const testTable = {} as TestTable;
  beforeAll(async () => {
    Object.assign(testTable, await startTestTable());
  });
  afterAll(async () => {
    await testTable.stop?.();
  });
  return testTable;
}

export async function startTestTable(): Promise<TestTable> {
  const dynalite = await startDynalite();
  const client = dynamoClient(dynalite.endpoint);
  const table = await createMessageTable(client);
  return {
    endpoint: dynalite.endpoint,
    client,
    table,
    repository: MessagesRepository.create(client, table),
    stop: async () => {
      await dropTable(client, table);
      client.destroy();
      await dynalite.stop();
    },
  };
}

/** A sender or member for repository-level tests. */
export function testUser(handle: string): UserRef {
  return { uuid: randomUUID(), display_name: `${handle[0].toUpperCase()}${handle.slice(1)} ${handle[0].toUpperCase()}`, handle };
}
