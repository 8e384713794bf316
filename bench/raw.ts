import {
  PutItemCommand,
  QueryCommand,
  type DynamoDBClient,
  type QueryCommandOutput,
  type PutItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { GROUP_PREFIX, MESSAGE_PREFIX } from '../src/dynamodb/message.entities.js';
import { MESSAGE_TABLE } from '../src/dynamodb/table.definition.js';
import { formatTimestamp, nowMicros } from '../src/dynamodb/timestamp.js';
import type { Member } from './seed.js';

type Capacity = { ReturnConsumedCapacity?: 'TOTAL' };

/**
 * The access patterns done directly with the AWS SDK: the same requests the repository's ElectroDB
 * entities send (checked against their `.params()`), with no Nest, no ElectroDB, no unmarshalling.
 */
export function rawAccess(client: DynamoDBClient, table: string) {
  let lastMicros = 0;
  /** Distinct timestamps within this process, so concurrent raw puts never clash. */
  const nextTimestamp = () => formatTimestamp((lastMicros = Math.max(nowMicros(), lastMicros + 1)));
  return {
    /** Pattern A's page: Query `pk = MSG#{group}`, newest first, `limit` (20) items. */
    messagesPage: (group: string, extra: Capacity = {}, limit = 20): Promise<QueryCommandOutput> =>
      client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': MESSAGE_TABLE.partitionKey },
          ExpressionAttributeValues: { ':pk': { S: `${MESSAGE_PREFIX}${group}` } },
          ScanIndexForward: false,
          Limit: limit,
          ...extra,
        }),
      ),
    /** Pattern B's page: Query `pk = GRP#{owner}`, newest first, `limit` (20) items. */
    groupsPage: (owner: string, extra: Capacity = {}, limit = 20): Promise<QueryCommandOutput> =>
      client.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': MESSAGE_TABLE.partitionKey },
          ExpressionAttributeValues: { ':pk': { S: `${GROUP_PREFIX}${owner}` } },
          ScanIndexForward: false,
          Limit: limit,
          ...extra,
        }),
      ),
    /** A conversation's group items (the GSI): the membership check and what the projector reads. */
    conversationMembers: (group: string, extra: Capacity = {}): Promise<QueryCommandOutput> =>
      client.send(
        new QueryCommand({
          TableName: table,
          IndexName: MESSAGE_TABLE.groupIndex.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': MESSAGE_TABLE.groupIndex.partitionKey },
          ExpressionAttributeValues: { ':pk': { S: group } },
          ScanIndexForward: false,
          ...extra,
        }),
      ),
    /** Pattern D's write: one conditional PutItem of a message item. */
    putMessage: (group: string, sender: Member, text: string, extra: Capacity = {}): Promise<PutItemCommandOutput> =>
      client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: `${MESSAGE_PREFIX}${group}` },
            sk: { S: nextTimestamp() },
            message_uuid: { S: randomUUID() },
            message: { S: text },
            user_uuid: { S: sender.uuid },
            user_display_name: { S: sender.display_name },
            user_handle: { S: sender.handle },
            __edb_e__: { S: 'message' },
            __edb_v__: { S: '1' },
          },
          ConditionExpression: 'attribute_not_exists(#pk) AND attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#pk': MESSAGE_TABLE.partitionKey, '#sk': MESSAGE_TABLE.sortKey },
          ...extra,
        }),
      ),
  };
}

export type RawAccess = ReturnType<typeof rawAccess>;
