import { beforeAll, describe, expect, it } from '@jest/globals';
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { useTestTable } from '../../test/support/dynamodb.js';
import { eventOf, insertOf, messageImage, sequenceOf, streamRecord, watchCommands } from '../../test/support/stream-fixtures.js';
import type { UserRef } from '../dynamodb/messages.repository.js';
import { formatTimestamp, parseTimestamp } from '../dynamodb/timestamp.js';
import type { LiveEvent } from '../live/live-event.js';
import { InProcessLiveEventBus } from '../live/live-event.bus.js';
import { createStreamHandler, streamLogger, type StreamHandler } from './stream.handler.js';

const db = useTestTable();

const alice: UserRef = { uuid: randomUUID(), display_name: 'Alice A', handle: 'alice' };
const quiet = new Logger({ logLevel: 'SILENT' });

let handler: StreamHandler;
let commands: ReturnType<typeof watchCommands>;
/** Conversations whose every DynamoDB request fails (throttled) on the handler's client. */
const throttled = new Set<string>();

beforeAll(async () => {
  commands = watchCommands(db.client, (_command, input) => [...throttled].some((group) => input.includes(group)));
  handler = createStreamHandler({ repository: db.repository, logger: quiet });
});

/** A conversation between a new @alice and a new @bob (so that conversations share no owner). */
async function startConversation(at = '2024-01-01T00:00:00.000000+00:00'): Promise<string> {
  const group = randomUUID();
  const a: UserRef = { uuid: randomUUID(), display_name: 'Alice A', handle: 'alice' };
  const b: UserRef = { uuid: randomUUID(), display_name: 'Bob B', handle: 'bob' };
  await db.repository.putListItem({ owner_user_uuid: a.uuid, message_group_uuid: group, last_reply_at: at, message: 'first', other: b });
  await db.repository.putListItem({ owner_user_uuid: b.uuid, message_group_uuid: group, last_reply_at: at, message: 'first', other: a });
  return group;
}

/** Each member's list items of the conversation: owner handle → [sk, message] (alice's items show @bob). */
async function listItems(group: string): Promise<Record<string, [string, string][]>> {
  const result: Record<string, [string, string][]> = {};
  for (const item of await db.repository.listListItemsOnIndex(group)) {
    (result[item.user_handle === 'bob' ? 'alice' : 'bob'] ??= []).push([item.last_reply_at, item.message]);
  }
  return result;
}

const at = (second: number) => formatTimestamp(parseTimestamp('2024-03-01T12:00:00.000000+00:00')! + second * 1_000_000);
const bothAt = (sk: string, text: string) => ({ alice: [[sk, text]], bob: [[sk, text]] });

describe('stream handler', () => {
  it('projects a batch of one INSERT of a message', async () => {
    const group = await startConversation();

    const response = await handler(eventOf(insertOf({ group, sk: at(1), text: 'hello', sender: alice })));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group)).toEqual(bothAt(at(1), 'hello'));
  });

  it('skips MODIFY and REMOVE records and INSERTs of list items and member items', async () => {
    const group = await startConversation();
    commands.reset();
    const image = messageImage({ group, sk: at(2), text: 'edited' });
    const groupItem = {
      pk: `GRP#${randomUUID()}`,
      sk: at(3),
      message_group_uuid: group,
      message: 'x',
      user_uuid: randomUUID(),
      user_display_name: 'Bob B',
      user_handle: 'bob',
    };
    const memberItem = {
      pk: `MSG#${group}`,
      sk: `MEMBER#${randomUUID()}`,
      user_uuid: randomUUID(),
      user_display_name: 'Bob B',
      user_handle: 'bob',
      version: 0,
    };

    const response = await handler(
      eventOf(
        streamRecord('MODIFY', image),
        streamRecord('REMOVE', image),
        streamRecord('INSERT', groupItem),
        streamRecord('INSERT', memberItem),
      ),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(commands.count('QueryCommand') + commands.count('PutItemCommand') + commands.count('GetItemCommand')).toBe(0);
    expect(await listItems(group)).toEqual(bothAt('2024-01-01T00:00:00.000000+00:00', 'first'));
  });

  it('projects messages written by the original tools: no ElectroDB identifiers, a timestamp without offset', async () => {
    const group = await startConversation('2023-04-05T18:00:00+00:00');
    const legacy = {
      pk: `MSG#${group}`,
      sk: '2023-04-05T18:27:02.123456',
      message_uuid: randomUUID(),
      message: 'legacy',
      user_uuid: alice.uuid,
      user_display_name: 'Alice A',
      user_handle: 'alice',
    };

    const response = await handler(eventOf(streamRecord('INSERT', legacy)));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group)).toEqual(bothAt('2023-04-05T18:27:02.123456', 'legacy'));
  });

  it('coalesces a batch of 500 replies in one conversation into one put per member', async () => {
    const group = await startConversation();
    const records = Array.from({ length: 500 }, (_, i) => insertOf({ group, sk: at(10 + i), text: `reply ${i}`, sender: alice }));
    commands.reset();

    const response = await handler(eventOf(...records));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group)).toEqual(bothAt(at(509), 'reply 499'));
    // Per member: its member item built once from the list items (an older conversation), then one
    // list item put, the member item moved forward and completed (two updates), the old item deleted.
    expect(commands.count('PutItemCommand')).toBe(4);
    expect(commands.count('UpdateItemCommand')).toBe(4);
    expect(commands.count('DeleteItemCommand')).toBe(2);
  });

  it('projects each conversation of a mixed batch of 500 to its newest message', async () => {
    const groups = await Promise.all(Array.from({ length: 20 }, () => startConversation()));
    const records = Array.from({ length: 500 }, (_, i) => insertOf({ group: groups[i % 20], sk: at(1000 + i), text: `m${i}` }));

    const response = await handler(eventOf(...records));

    expect(response).toEqual({ batchItemFailures: [] });
    for (let g = 0; g < 20; g++) expect(await listItems(groups[g])).toEqual(bothAt(at(1000 + 480 + g), `m${480 + g}`));
  });

  it('handles a batch of 10,000 records', async () => {
    const groups = await Promise.all(Array.from({ length: 10 }, () => startConversation()));
    const records = Array.from({ length: 10_000 }, (_, i) => insertOf({ group: groups[i % 10], sk: at(5000 + i), text: `m${i}` }));

    const response = await handler(eventOf(...records));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(groups[3])).toEqual(bothAt(at(5000 + 9993), 'm9993'));
  });

  it('ignores duplicate delivery, within a batch and across batches', async () => {
    const group = await startConversation();
    const record = insertOf({ group, sk: at(20), text: 'once' });

    await handler(eventOf(record, record));
    commands.reset();
    const again = await handler(eventOf(record));

    expect(again).toEqual({ batchItemFailures: [] });
    expect(commands.count('PutItemCommand') + commands.count('DeleteItemCommand')).toBe(0);
    expect(await listItems(group)).toEqual(bothAt(at(20), 'once'));
  });

  it('keeps the newest message when records arrive in reverse order, in one batch or one by one', async () => {
    const inOneBatch = await startConversation();
    const oneByOne = await startConversation();
    const reversed = (group: string) => [3, 2, 1].map((s) => insertOf({ group, sk: at(30 + s), text: `m${s}` }));

    await handler(eventOf(...reversed(inOneBatch)));
    for (const record of reversed(oneByOne)) await handler(eventOf(record));

    expect(await listItems(inOneBatch)).toEqual(bothAt(at(33), 'm3'));
    expect(await listItems(oneByOne)).toEqual(bothAt(at(33), 'm3'));
  });

  it('reports only the records of the conversation whose projection failed, and applies the rest', async () => {
    const [ok1, failing, ok2] = await Promise.all([startConversation(), startConversation(), startConversation()]);
    const records: DynamoDBRecord[] = [
      insertOf({ group: ok1, sk: at(40), text: 'ok1' }),
      insertOf({ group: failing, sk: at(41), text: 'f1' }),
      insertOf({ group: ok2, sk: at(42), text: 'ok2' }),
      insertOf({ group: failing, sk: at(43), text: 'f2' }),
      streamRecord('MODIFY', messageImage({ group: failing, sk: at(41), text: 'edited' })),
    ];
    throttled.add(failing);
    let response;
    try {
      response = await handler(eventOf(...records));
    } finally {
      throttled.delete(failing);
    }

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceOf(records[1]) }, { itemIdentifier: sequenceOf(records[3]) }]);
    expect(await listItems(ok1)).toEqual(bothAt(at(40), 'ok1'));
    expect(await listItems(ok2)).toEqual(bothAt(at(42), 'ok2'));
    expect(await listItems(failing)).toEqual(bothAt('2024-01-01T00:00:00.000000+00:00', 'first'));
  });

  it('reports a message INSERT without a NewImage against its own record only', async () => {
    const group = await startConversation();
    const broken = streamRecord('REMOVE', messageImage({ group, sk: at(50), text: 'x' }));
    broken.eventName = 'INSERT';
    const good = insertOf({ group, sk: at(51), text: 'good' });

    const response = await handler(eventOf(broken, good));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: sequenceOf(broken) }]);
    expect(await listItems(group)).toEqual(bothAt(at(51), 'good'));
  });

  it('fails the whole invocation when every record failed (Lambda retries the batch)', async () => {
    const group = await startConversation();
    throttled.add(group);
    try {
      await expect(handler(eventOf(insertOf({ group, sk: at(60), text: 'x' })))).rejects.toBeInstanceOf(FullBatchFailureError);
    } finally {
      throttled.delete(group);
    }
  });

  it('as the Lambda entry point, takes its table from the configuration', async () => {
    const group = await startConversation();
    process.env.DYNAMODB_ENDPOINT = db.endpoint;
    process.env.DDB_MESSAGE_TABLE = db.table;
    streamLogger.setLogLevel('SILENT');
    const { handler: lambda } = await import('./stream.handler.js');

    const response = await lambda(eventOf(insertOf({ group, sk: at(70), text: 'via lambda' })));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group)).toEqual(bothAt(at(70), 'via lambda'));
  });
});

describe('live events', () => {
  it("publishes every projected message to both members in the batch's order, then each member's list item; nothing of a failed conversation", async () => {
    const bus = new InProcessLiveEventBus();
    const published: LiveEvent[] = [];
    bus.subscribe((event) => published.push(event));
    const publishing = createStreamHandler({ repository: db.repository, logger: quiet, bus });
    const [ok, failing] = await Promise.all([startConversation(), startConversation()]);
    const members = (await db.repository.listListItemsOnIndex(ok)).map((item) => item.owner_user_uuid).sort();
    const records = [
      insertOf({ group: ok, sk: at(80), text: 'one', sender: alice }),
      insertOf({ group: failing, sk: at(81), text: 'lost' }),
      insertOf({ group: ok, sk: at(82), text: 'two', sender: alice }),
    ];
    throttled.add(failing);
    try {
      await publishing(eventOf(...records));
    } finally {
      throttled.delete(failing);
    }

    expect(published.map((e) => [e.type, e.position, [...e.audience].sort()])).toEqual([
      ['message', at(80), members],
      ['message', at(82), members],
      ['message_group', at(82), [expect.any(String)]],
      ['message_group', at(82), [expect.any(String)]],
    ]);
    expect(published[0].data).toMatchObject({ message_group_uuid: ok, message: 'one', handle: 'alice', created_at: at(80) });
    expect(
      published
        .slice(2)
        .flatMap((e) => e.audience)
        .sort(),
    ).toEqual(members);
    expect(published[2].data).toMatchObject({ uuid: ok, message: 'two', created_at: at(82) });
  });

  it('projects all the same when the bus refuses the events', async () => {
    const group = await startConversation();
    const broken = { publish: () => Promise.reject(new Error('bus down')) };

    const response = await createStreamHandler({ repository: db.repository, logger: quiet, bus: broken })(
      eventOf(insertOf({ group, sk: at(90), text: 'still projected' })),
    );

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await listItems(group)).toEqual(bothAt(at(90), 'still projected'));
  });
});
