import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The single source of truth for the messages table: used by `ddb:schema-load`, the local stack,
 * the tests and the AWS deployment definition. It matches the table of the original Cruddur tools.
 */
export const MESSAGE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  groupIndex: {
    name: 'message-group-sk-index',
    partitionKey: 'message_group_uuid',
    sortKey: 'sk',
  },
  streamViewType: 'NEW_IMAGE',
} as const;

export type BillingMode = { mode: 'on-demand' } | { mode: 'provisioned'; readUnits: number; writeUnits: number };

export function messageTableDefinition(tableName: string, billing: BillingMode = { mode: 'on-demand' }): CreateTableCommandInput {
  const throughput =
    billing.mode === 'provisioned'
      ? { ProvisionedThroughput: { ReadCapacityUnits: billing.readUnits, WriteCapacityUnits: billing.writeUnits } }
      : {};
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: MESSAGE_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: MESSAGE_TABLE.sortKey, AttributeType: 'S' },
      { AttributeName: MESSAGE_TABLE.groupIndex.partitionKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: MESSAGE_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: MESSAGE_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: MESSAGE_TABLE.groupIndex.name,
        KeySchema: [
          { AttributeName: MESSAGE_TABLE.groupIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: MESSAGE_TABLE.groupIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
        ...throughput,
      },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: MESSAGE_TABLE.streamViewType },
    BillingMode: billing.mode === 'provisioned' ? 'PROVISIONED' : 'PAY_PER_REQUEST',
    ...throughput,
  };
}
