import { BatchWriteItemCommand, type BatchWriteItemCommandOutput, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { GROUP_PREFIX, MESSAGE_PREFIX } from '../src/dynamodb/message.entities.js';
import { formatTimestamp } from '../src/dynamodb/timestamp.js';

/*
 * Seeding straight into dynalite with BatchWriteItem (25 items a request, several requests in
 * flight): items exactly as the repository writes them (the original layout plus ElectroDB's
 * identifiers), far faster than through the API.
 */

export interface Member {
  uuid: string;
  display_name: string;
  handle: string;
}

export interface SeededConversation {
  message_group_uuid: string;
  messages: number;
  /** The sk of its newest message (= both group items' sk). */
  last_reply_at: string;
}

const BATCH = 25;
const IN_FLIGHT = 8;
/** Seeded history starts here; one message a second, so 100,000 messages span about 28 hours. */
const HISTORY_START_MICROS = Date.UTC(2024, 0, 1) * 1000;

export const messageText = (i: number) => `Message number ${i} of the seeded conversation, about as long as a typical short chat message.`;

export function member(handle: string, uuid: string = randomUUID()): Member {
  return { uuid, handle, display_name: `Bench ${handle[0].toUpperCase()}${handle.slice(1)}` };
}

export class Seeder {
  /** Items written so far (for the log). */
  written = 0;
  private conversations = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  /**
   * A conversation of `messages` messages between `a` and `b` (alternating senders) and both
   * members' group items at its newest message. Each conversation is offset by a few microseconds
   * so that no two group items of one owner share an sk.
   */
  async conversation(a: Member, b: Member, messages: number): Promise<SeededConversation> {
    const message_group_uuid = randomUUID();
    const offset = ++this.conversations;
    const sk = (i: number) => formatTimestamp(HISTORY_START_MICROS + i * 1_000_000 + offset);
    const items = function* () {
      for (let i = 0; i < messages; i++) {
        const sender = i % 2 === 0 ? a : b;
        yield {
          pk: `${MESSAGE_PREFIX}${message_group_uuid}`,
          sk: sk(i),
          message_uuid: randomUUID(),
          message: messageText(i),
          user_uuid: sender.uuid,
          user_display_name: sender.display_name,
          user_handle: sender.handle,
          __edb_e__: 'message',
          __edb_v__: '1',
        };
      }
    };
    await this.writeAll(items());
    const last_reply_at = sk(messages - 1);
    const last = messageText(messages - 1);
    await this.writeAll([
      groupItem(a, b, message_group_uuid, last_reply_at, last),
      groupItem(b, a, message_group_uuid, last_reply_at, last),
    ]);
    return { message_group_uuid, messages, last_reply_at };
  }

  /** `count` conversations of `owner` (only the owner's group items: all a conversations list reads). */
  async conversationList(owner: Member, count: number): Promise<void> {
    const offset = ++this.conversations;
    const items = function* () {
      for (let i = 0; i < count; i++) {
        const other = member(`friend${i}`);
        yield groupItem(owner, other, randomUUID(), formatTimestamp(HISTORY_START_MICROS + i * 1_000_000 + offset), messageText(i));
      }
    };
    await this.writeAll(items());
  }

  private async writeAll(items: Iterable<Record<string, unknown>>): Promise<void> {
    const iterator = items[Symbol.iterator]();
    const nextBatch = (): WriteRequest[] => {
      const batch: WriteRequest[] = [];
      for (let r = iterator.next(); !r.done; r = iterator.next()) {
        batch.push({ PutRequest: { Item: marshall(r.value) } });
        if (batch.length === BATCH) break;
      }
      return batch;
    };
    const lane = async () => {
      for (let batch = nextBatch(); batch.length > 0; batch = nextBatch()) {
        await this.writeBatch(batch);
        this.written += batch.length;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  }

  /** One BatchWriteItem, resending UnprocessedItems until none remain. */
  private async writeBatch(requests: WriteRequest[]): Promise<void> {
    let pending: Record<string, WriteRequest[]> | undefined = { [this.table]: requests };
    for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 10 * 2 ** attempt)));
      const result: BatchWriteItemCommandOutput = await this.client.send(new BatchWriteItemCommand({ RequestItems: pending }));
      pending = result.UnprocessedItems;
    }
  }
}

function groupItem(
  owner: Member,
  other: Member,
  message_group_uuid: string,
  last_reply_at: string,
  message: string,
): Record<string, unknown> {
  return {
    pk: `${GROUP_PREFIX}${owner.uuid}`,
    sk: last_reply_at,
    message_group_uuid,
    message,
    user_uuid: other.uuid,
    user_display_name: other.display_name,
    user_handle: other.handle,
    __edb_e__: 'message_group',
    __edb_v__: '1',
  };
}
