import type { AppConfig } from '../../src/config/config.js';
import { ChangeCaptureEmulator } from '../../src/stream/change-capture.emulator.js';
import { createDynamoDbClient } from '../../src/dynamodb/dynamodb.client.js';
import { MessagesRepository } from '../../src/dynamodb/messages.repository.js';

export interface OpenedMessagesRepository {
  repository: MessagesRepository;
  /** The change-capture emulator attached to the repository, when `config.streamEmulator` is on. */
  emulator?: ChangeCaptureEmulator;
  /** Finishes pending work (e.g. the change-capture emulator's queue) and releases the client. */
  close: () => Promise<void>;
}

/** The repository for code outside the Nest app (scripts, the local stack), built as the app builds it. */
export function openMessagesRepository(config: Pick<AppConfig, 'aws' | 'dynamodb' | 'streamEmulator'>): OpenedMessagesRepository {
  const client = createDynamoDbClient(config);
  const repository = MessagesRepository.create(client, config.dynamodb.table);
  const emulator = config.streamEmulator ? ChangeCaptureEmulator.attach(repository, { region: config.aws.region }) : undefined;
  return {
    repository,
    emulator,
    close: async () => {
      try {
        emulator?.stop();
        await emulator?.drain();
      } finally {
        client.destroy();
      }
    },
  };
}
