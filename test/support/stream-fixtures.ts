import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resetMiddlewareCache } from '../../src/dynamodb/dynamodb.client.js';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/stream/2023-03-28T21:02:11.141';
let sequence = 0;

/** A stream record as Lambda receives it from a NEW_IMAGE stream (numbered in creation order). */
export function streamRecord(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', item: Record<string, unknown>): DynamoDBRecord {
  const image = marshall(item) as StreamImage;
  return {
    eventID: `${++sequence}`.padStart(32, 'e'),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: ARN,
    dynamodb: {
      ApproximateCreationDateTime: 1680038531,
      Keys: marshall({ pk: item.pk, sk: item.sk }) as StreamImage,
      ...(eventName === 'REMOVE' ? {} : { NewImage: image }),
      SequenceNumber: String(1_000_000_000_000 + sequence).padStart(21, '0'),
      SizeBytes: 200,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

export interface StoredMessage {
  group: string;
  sk: string;
  text: string;
  sender?: { uuid: string; display_name: string; handle: string };
}

/** A message item as stored (the original layout plus ElectroDB's identifiers). */
export function messageImage({ group, sk, text, sender }: StoredMessage): Record<string, unknown> {
  return {
    pk: `MSG#${group}`,
    sk,
    message_uuid: `00000000-0000-4000-8000-${sk.replace(/\D/g, '').slice(-12)}`,
    message: text,
    user_uuid: sender?.uuid ?? '11111111-1111-4111-8111-111111111111',
    user_display_name: sender?.display_name ?? 'Sender',
    user_handle: sender?.handle ?? 'sender',
    __edb_e__: 'message',
    __edb_v__: '1',
  };
}

export const insertOf = (message: StoredMessage) => streamRecord('INSERT', messageImage(message));

export const eventOf = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

export const sequenceOf = (record: DynamoDBRecord) => record.dynamodb!.SequenceNumber!;

/**
 * Watches a client's commands: counts them by name, and makes those that `fail` picks throw a
 * throttling error before they reach the table (a real failure path, not a mock of the code under test).
 */
export function watchCommands(client: DynamoDBClient, fail: (command: string, input: string) => boolean = () => false) {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      counts.set(command, (counts.get(command) ?? 0) + 1);
      if (fail(command, JSON.stringify(args.input))) {
        throw Object.assign(new Error(`injected failure of ${command}`), { name: 'ProvisionedThroughputExceededException' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'watchCommands' },
  );
  resetMiddlewareCache(client);
  return {
    count: (command: string) => counts.get(command) ?? 0,
    reset: () => counts.clear(),
  };
}
