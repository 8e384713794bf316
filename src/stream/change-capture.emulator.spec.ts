import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { useTestTable } from '../../test/support/dynamodb.js';
import { watchCommands } from '../../test/support/stream-fixtures.js';
import { loadConfig } from '../config/config.js';
import type { UserRef } from '../dynamodb/messages.repository.js';
import { openMessagesRepository } from '../../tools/dynamodb/open-messages-repository.js';
import { ChangeCaptureEmulator } from './change-capture.emulator.js';
import { createStreamHandler, streamLogger, type StreamHandler } from './stream.handler.js';

const db = useTestTable();

const quiet = new Logger({ logLevel: 'SILENT' });
/** Decides which of the client's commands fail (a throttling error), per test. */
let failing: (command: string, input: string) => boolean = () => false;

beforeAll(async () => {
  streamLogger.setLogLevel('SILENT');
  watchCommands(db.client, (command, input) => failing(command, input));
});

const user = (handle: string): UserRef => ({ uuid: randomUUID(), display_name: handle.toUpperCase(), handle });

async function startConversation(repository = db.repository) {
  const [alice, bob] = [user('alice'), user('bob')];
  const group = randomUUID();
  const at = '2024-01-01T00:00:00.000000+00:00';
  await repository.putListItem({ owner_user_uuid: alice.uuid, message_group_uuid: group, last_reply_at: at, message: 'first', other: bob });
  await repository.putListItem({ owner_user_uuid: bob.uuid, message_group_uuid: group, last_reply_at: at, message: 'first', other: alice });
  return { group, alice, bob };
}

/** The conversation's list items as [other member's handle, message]. */
async function listItems(group: string) {
  return (await db.repository.listListItemsOnIndex(group)).map((item) => [item.user_handle, item.message]).sort();
}

/** A handler that records what it is given before handing it to the real one. */
function recording(inner: StreamHandler) {
  const batches: DynamoDBRecord[][] = [];
  const handler: StreamHandler = async (event: DynamoDBStreamEvent) => {
    batches.push(event.Records);
    return inner(event);
  };
  return { handler, batches };
}

describe('ChangeCaptureEmulator', () => {
  it('delivers a real-shaped NEW_IMAGE INSERT record for every message written through the repository', async () => {
    const { group, alice } = await startConversation();
    const { handler, batches } = recording(createStreamHandler({ repository: db.repository, logger: quiet }));
    const emulator = ChangeCaptureEmulator.attach(db.repository, { handler, logger: quiet, region: 'eu-west-1' });

    const written = await db.repository.putMessage({
      message_group_uuid: group,
      message: 'hello',
      sender: alice,
      created_at: '2024-01-01T00:00:01.000000+00:00',
    });
    await emulator.drain();
    emulator.stop();

    const [[record]] = batches;
    const { Item } = await db.client.send(
      new GetItemCommand({ TableName: db.table, Key: { pk: { S: `MSG#${group}` }, sk: { S: written.created_at } } }),
    );
    expect(record).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb', awsRegion: 'eu-west-1' });
    expect(record.eventSourceARN).toMatch(
      new RegExp(`^arn:aws:dynamodb:eu-west-1:\\d{12}:table/${db.table}/stream/\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}$`),
    );
    expect(record.dynamodb).toMatchObject({
      StreamViewType: 'NEW_IMAGE',
      Keys: { pk: { S: `MSG#${group}` }, sk: { S: written.created_at } },
    });
    expect(record.dynamodb!.SequenceNumber).toMatch(/^\d{21,}$/);
    expect(unmarshall(record.dynamodb!.NewImage as never)).toEqual(unmarshall(Item!));
    expect(await listItems(group)).toEqual([
      ['alice', 'hello'],
      ['bob', 'hello'],
    ]);
  });

  it('delivers in write order, one handler call at a time, batches no larger than the maximum', async () => {
    const first = await startConversation();
    const second = await startConversation();
    let running = 0;
    let overlapped = false;
    const inner = createStreamHandler({ repository: db.repository, logger: quiet });
    const { handler, batches } = recording(async (event) => {
      overlapped ||= running++ > 0;
      try {
        return await inner(event);
      } finally {
        running--;
      }
    });
    const emulator = ChangeCaptureEmulator.attach(db.repository, { handler, logger: quiet, maxBatchSize: 4 });

    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const { group, alice } = i % 2 ? first : second;
      writes.push(db.repository.putMessage({ message_group_uuid: group, message: `m${i}`, sender: alice }));
    }
    await Promise.all(writes);
    await emulator.drain();
    emulator.stop();

    const delivered = batches.flat();
    const sequence = delivered.map((r) => BigInt(r.dynamodb!.SequenceNumber!));
    expect(delivered).toHaveLength(30);
    expect(sequence).toEqual([...sequence].sort((a, b) => (a < b ? -1 : 1)));
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    expect(overlapped).toBe(false);
    for (const { group } of [first, second]) {
      const sks = delivered.filter((r) => r.dynamodb!.Keys!.pk.S === `MSG#${group}`).map((r) => r.dynamodb!.Keys!.sk.S!);
      expect(sks).toEqual([...sks].sort());
    }
    const newest = async (group: string) => (await db.repository.listMessages(group, { limit: 1 })).items[0].message;
    expect(await listItems(first.group)).toEqual([
      ['alice', await newest(first.group)],
      ['bob', await newest(first.group)],
    ]);
    expect(await listItems(second.group)).toEqual([
      ['alice', await newest(second.group)],
      ['bob', await newest(second.group)],
    ]);
  });

  it('batches the records that arrive together', async () => {
    const { group, alice } = await startConversation();
    const { handler, batches } = recording(createStreamHandler({ repository: db.repository, logger: quiet }));
    const emulator = ChangeCaptureEmulator.attach(db.repository, { handler, logger: quiet });

    await Promise.all(
      Array.from({ length: 20 }, (_, i) => db.repository.putMessage({ message_group_uuid: group, message: `m${i}`, sender: alice })),
    );
    await emulator.drain();
    emulator.stop();

    expect(batches.flat()).toHaveLength(20);
    expect(batches.length).toBeLessThan(20);
  });

  it('retries failed records with backoff until the projection succeeds', async () => {
    const { group, alice } = await startConversation();
    let failuresLeft = 2;
    failing = (command, input) => command === 'QueryCommand' && input.includes(group) && failuresLeft-- > 0;
    const { handler, batches } = recording(createStreamHandler({ repository: db.repository, logger: quiet }));
    const emulator = ChangeCaptureEmulator.attach(db.repository, { handler, logger: quiet, backoffMs: 1 });

    await db.repository.putMessage({ message_group_uuid: group, message: 'eventually', sender: alice });
    await emulator.drain();
    emulator.stop();
    failing = () => false;

    expect(batches).toHaveLength(3);
    expect(await listItems(group)).toEqual([
      ['alice', 'eventually'],
      ['bob', 'eventually'],
    ]);
  });

  it('gives up after the last attempt, logs it, and still applies the other conversations', async () => {
    const broken = await startConversation();
    const healthy = await startConversation();
    failing = (command, input) => command === 'QueryCommand' && input.includes(broken.group);
    const logger = new Logger({ logLevel: 'SILENT' });
    const gaveUp = jest.spyOn(logger, 'error');
    const emulator = ChangeCaptureEmulator.attach(db.repository, { logger, maxAttempts: 3, backoffMs: 1 });

    await db.repository.putMessage({ message_group_uuid: broken.group, message: 'lost', sender: broken.alice });
    await db.repository.putMessage({ message_group_uuid: healthy.group, message: 'fine', sender: healthy.alice });
    await emulator.drain();
    emulator.stop();
    failing = () => false;

    expect(gaveUp).toHaveBeenCalledWith('change-capture emulator gave up on records', expect.objectContaining({ attempts: 3 }));
    expect(await listItems(broken.group)).toEqual([
      ['alice', 'first'],
      ['bob', 'first'],
    ]);
    expect(await listItems(healthy.group)).toEqual([
      ['alice', 'fine'],
      ['bob', 'fine'],
    ]);
  });

  it('delivers nothing after stop()', async () => {
    const { group, alice } = await startConversation();
    const { handler, batches } = recording(createStreamHandler({ repository: db.repository, logger: quiet }));
    const emulator = ChangeCaptureEmulator.attach(db.repository, { handler, logger: quiet });
    emulator.stop();

    await db.repository.putMessage({ message_group_uuid: group, message: 'unseen', sender: alice });
    await emulator.drain();

    expect(batches).toEqual([]);
    expect(await listItems(group)).toEqual([
      ['alice', 'first'],
      ['bob', 'first'],
    ]);
  });
});

describe('openMessagesRepository with the stream emulator', () => {
  it('projects what a script wrote before close() releases the client', async () => {
    const config = loadConfig({ APP_ENV: 'test', DYNAMODB_ENDPOINT: db.endpoint, DDB_MESSAGE_TABLE: db.table });
    const opened = openMessagesRepository(config);
    const { group, alice } = await startConversation(opened.repository);

    await opened.repository.putMessage({ message_group_uuid: group, message: 'from a script', sender: alice });
    await opened.close();

    expect(opened.emulator?.started).toBe(false);
    expect(await listItems(group)).toEqual([
      ['alice', 'from a script'],
      ['bob', 'from a script'],
    ]);
  });

  it('attaches no emulator when STREAM_EMULATOR is off', async () => {
    const config = loadConfig({ APP_ENV: 'test', DYNAMODB_ENDPOINT: db.endpoint, DDB_MESSAGE_TABLE: db.table, STREAM_EMULATOR: 'off' });
    const opened = openMessagesRepository(config);
    const { group, alice } = await startConversation(opened.repository);

    await opened.repository.putMessage({ message_group_uuid: group, message: 'not projected', sender: alice });
    await opened.close();

    expect(opened.emulator).toBeUndefined();
    expect(await listItems(group)).toEqual([
      ['alice', 'first'],
      ['bob', 'first'],
    ]);
  });
});
