import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { createDynamoDbClient } from '../../src/dynamodb/dynamodb.client.js';
import { messageTableDefinition } from '../../src/dynamodb/table.definition.js';

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
  await client.send(new CreateTableCommand(messageTableDefinition(name)));
  return name;
}

export async function dropTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: name }));
}
