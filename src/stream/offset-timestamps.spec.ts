import { describe, expect, it } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { testUser, useTestTable } from '../../test/support/dynamodb.js';
import { eventOf, streamRecord } from '../../test/support/stream-fixtures.js';
import type { UserRef } from '../dynamodb/messages.repository.js';
import { ConversationListProjector } from './conversation-list.projector.js';
import { createStreamHandler } from './stream.handler.js';

/*
 * Messages stamped by the original Cruddur tools on a laptop carry the machine's local offset
 * (`datetime.now(timezone.utc).astimezone().isoformat()`): `-05:00`, `+09:00`, with or without
 * microseconds. The projector must compare them by instant, through its public API only.
 */
const db = useTestTable();
const quiet = new Logger({ logLevel: 'SILENT' });

/** Both members' list items as the original tools wrote them (no ElectroDB identifiers). */
async function startConversation(at: string): Promise<{ group: string; alice: UserRef; bob: UserRef }> {
  const [group, alice, bob] = [randomUUID(), testUser('alice'), testUser('bob')];
  for (const [owner, other] of [
    [alice, bob],
    [bob, alice],
  ]) {
    await putRaw({
      pk: `GRP#${owner.uuid}`,
      sk: at,
      message_group_uuid: group,
      message: 'first',
      user_uuid: other.uuid,
      user_display_name: other.display_name,
      user_handle: other.handle,
    });
  }
  return { group, alice, bob };
}

/** A message item as the original tools wrote it. */
function rawMessage(group: string, sk: string, text: string, sender: UserRef) {
  return {
    pk: `MSG#${group}`,
    sk,
    message_uuid: randomUUID(),
    message: text,
    user_uuid: sender.uuid,
    user_display_name: sender.display_name,
    user_handle: sender.handle,
  };
}

async function putRaw(item: Record<string, unknown>): Promise<void> {
  await db.client.send(new PutItemCommand({ TableName: db.table, Item: marshall(item) }));
}

/** Each member's list items: [sk, message], by the owner's handle. */
async function listItems(group: string, alice: UserRef): Promise<Record<string, [string, string][]>> {
  const result: Record<string, [string, string][]> = {};
  for (const item of await db.repository.listListItemsOnIndex(group)) {
    (result[item.owner_user_uuid === alice.uuid ? 'alice' : 'bob'] ??= []).push([item.last_reply_at, item.message]);
  }
  return result;
}

const bothAt = (sk: string, text: string) => ({ alice: [[sk, text]], bob: [[sk, text]] });

describe('projecting messages stamped with a local offset', () => {
  it('moves both lists forward to a -05:00 message that is newer by instant (ConversationListProjector)', async () => {
    const { group, alice } = await startConversation('2023-03-28T21:00:00.000000+00:00');

    const result = await new ConversationListProjector(db.repository).project({
      message_group_uuid: group,
      created_at: '2023-03-28T16:02:11.141577-05:00',
      message: 'from New York',
    });

    expect(result.members.map((m) => m.moved)).toEqual([true, true]);
    expect(await listItems(group, alice)).toEqual(bothAt('2023-03-28T16:02:11.141577-05:00', 'from New York'));
  });

  it('moves both lists forward for a stream INSERT of a +09:00 message without microseconds (stream handler)', async () => {
    const { group, alice, bob } = await startConversation('2023-03-28T16:02:11.141577-05:00');
    const handler = createStreamHandler({ repository: db.repository, logger: quiet });

    const response = await handler(eventOf(streamRecord('INSERT', rawMessage(group, '2023-03-29T06:05:00+09:00', 'from Tokyo', bob))));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group, alice)).toEqual(bothAt('2023-03-29T06:05:00+09:00', 'from Tokyo'));
  });

  it('never moves a list back to a message that sorts later as a string but is older by instant', async () => {
    // 16:02:11-05:00 is 21:02:11 UTC; 20:00:00+00:00 sorts after it as a string but is an hour earlier.
    const { group, alice, bob } = await startConversation('2023-03-28T16:02:11-05:00');
    const handler = createStreamHandler({ repository: db.repository, logger: quiet });

    const response = await handler(
      eventOf(streamRecord('INSERT', rawMessage(group, '2023-03-28T20:00:00.000000+00:00', 'late delivery', bob))),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group, alice)).toEqual(bothAt('2023-03-28T16:02:11-05:00', 'first'));
  });

  it('projects the newest message of a batch by instant, whatever offsets the batch mixes', async () => {
    const { group, alice, bob } = await startConversation('2023-03-28T20:00:00.000000+00:00');
    const handler = createStreamHandler({ repository: db.repository, logger: quiet });
    const newest = rawMessage(group, '2023-03-29T06:05:00.000000+09:00', 'newest (21:05 UTC)', alice);
    const older = rawMessage(group, '2023-03-28T21:01:00.000000+00:00', 'older (21:01 UTC)', bob);

    const response = await handler(eventOf(streamRecord('INSERT', newest), streamRecord('INSERT', older)));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group, alice)).toEqual(bothAt('2023-03-29T06:05:00.000000+09:00', 'newest (21:05 UTC)'));
  });
});
