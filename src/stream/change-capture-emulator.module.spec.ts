import 'reflect-metadata';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { useTestTable } from '../../test/support/dynamodb.js';
import { ConfigModule } from '../config/config.module.js';
import { loadConfig } from '../config/config.js';
import { DynamoDbModule } from '../dynamodb/dynamodb.module.js';
import { MessagesRepository, type UserRef } from '../dynamodb/messages.repository.js';
import { ChangeCaptureEmulator } from './change-capture.emulator.js';
import { streamLogger } from './stream.handler.js';
import { ChangeCaptureEmulatorModule } from './change-capture-emulator.module.js';

const db = useTestTable();

beforeAll(async () => {
  streamLogger.setLogLevel('SILENT');
});

async function startApp(streamEmulator: 'on' | 'off'): Promise<TestingModule> {
  const config = loadConfig({
    APP_ENV: 'test',
    DYNAMODB_ENDPOINT: db.endpoint,
    DDB_MESSAGE_TABLE: db.table,
    STREAM_EMULATOR: streamEmulator,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), DynamoDbModule, ChangeCaptureEmulatorModule],
  }).compile();
  return moduleRef.init();
}

async function startConversation(repository: MessagesRepository) {
  const alice: UserRef = { uuid: randomUUID(), display_name: 'Alice A', handle: 'alice' };
  const bob: UserRef = { uuid: randomUUID(), display_name: 'Bob B', handle: 'bob' };
  const group = randomUUID();
  const at = '2024-01-01T00:00:00.000000+00:00';
  await repository.putListItem({ owner_user_uuid: alice.uuid, message_group_uuid: group, last_reply_at: at, message: 'first', other: bob });
  await repository.putListItem({ owner_user_uuid: bob.uuid, message_group_uuid: group, last_reply_at: at, message: 'first', other: alice });
  return { group, alice };
}

const messagesShown = async (repository: MessagesRepository, group: string) =>
  (await repository.listListItemsOnIndex(group)).map((item) => item.message);

describe('ChangeCaptureEmulatorModule', () => {
  it('projects the app’s messages when the emulator is on, and exposes it to drain()', async () => {
    const app = await startApp('on');
    const repository = app.get(MessagesRepository);
    const { group, alice } = await startConversation(repository);

    await repository.putMessage({ message_group_uuid: group, message: 'reply', sender: alice });
    await app.get(ChangeCaptureEmulator).drain();

    expect(await messagesShown(repository, group)).toEqual(['reply', 'reply']);
    await app.close();
  });

  it('finishes queued projections on shutdown, before the client is released', async () => {
    const app = await startApp('on');
    const repository = app.get(MessagesRepository);
    const { group, alice } = await startConversation(repository);

    await repository.putMessage({ message_group_uuid: group, message: 'last words', sender: alice });
    await app.close();

    const reader = MessagesRepository.create(db.client, db.table);
    expect(await messagesShown(reader, group)).toEqual(['last words', 'last words']);
  });

  it('leaves the stream to AWS when the emulator is off', async () => {
    const app = await startApp('off');
    const repository = app.get(MessagesRepository);
    const { group, alice } = await startConversation(repository);

    await repository.putMessage({ message_group_uuid: group, message: 'not projected', sender: alice });
    await app.get(ChangeCaptureEmulator).drain();

    expect(app.get(ChangeCaptureEmulator).started).toBe(false);
    expect(await messagesShown(repository, group)).toEqual(['first', 'first']);
    await app.close();
  });
});
