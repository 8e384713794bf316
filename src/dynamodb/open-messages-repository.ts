import type { AppConfig } from '../config/config.js';
import { createDynamoDbClient } from './dynamodb.client.js';
import { MessagesRepository } from './messages.repository.js';

export interface OpenedMessagesRepository {
  repository: MessagesRepository;
  /** Finishes pending work (e.g. the change-capture emulator's queue) and releases the client. */
  close(): Promise<void>;
}

/** The repository for code outside the Nest app (scripts, the local stack), built as the app builds it. */
export function openMessagesRepository(config: Pick<AppConfig, 'aws' | 'dynamodb' | 'streamEmulator'>): OpenedMessagesRepository {
  const client = createDynamoDbClient(config);
  const repository = MessagesRepository.create(client, config.dynamodb.table);
  return {
    repository,
    close: async () => client.destroy(),
  };
}
