import {
  CreateTableCommand,
  DeleteTableCommand,
  ListTablesCommand,
  waitUntilTableExists,
  waitUntilTableNotExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { messageTableDefinition, type BillingMode } from '../../src/dynamodb/table.definition.js';

// Emulators create tables at once; AWS takes seconds. Poll often rather than the SDK's 20 s default.
const WAIT = { maxWaitTime: 300, minDelay: 1, maxDelay: 5 };

/** Creates the messages table unless a table of that name exists; waits until it is usable. */
export async function ensureMessageTable(client: DynamoDBClient, table: string, billing?: BillingMode): Promise<'created' | 'exists'> {
  try {
    await client.send(new CreateTableCommand(messageTableDefinition(table, billing)));
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceInUseException') return 'exists';
    throw error;
  }
  await waitUntilTableExists({ client, ...WAIT }, { TableName: table });
  return 'created';
}

/** Deletes a table and waits until it is gone; `missing` when there was none. */
export async function dropTable(client: DynamoDBClient, table: string): Promise<'dropped' | 'missing'> {
  try {
    await client.send(new DeleteTableCommand({ TableName: table }));
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return 'missing';
    throw error;
  }
  await waitUntilTableNotExists({ client, ...WAIT }, { TableName: table });
  return 'dropped';
}

/** Every table name (all pages). */
export async function listTableNames(client: DynamoDBClient): Promise<string[]> {
  const names: string[] = [];
  let ExclusiveStartTableName: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName }));
    names.push(...(page.TableNames ?? []));
    ExclusiveStartTableName = page.LastEvaluatedTableName;
  } while (ExclusiveStartTableName);
  return names;
}

/** Where a script's DynamoDB is, for messages: the custom endpoint, else AWS's region. */
export function describeDynamoTarget(config: { aws: { region: string }; dynamodb: { endpoint?: string } }): string {
  return config.dynamodb.endpoint ?? `AWS ${config.aws.region}`;
}
