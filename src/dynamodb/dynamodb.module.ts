import { Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { createDynamoDbClient } from './dynamodb.client.js';
import { MessagesRepository } from './messages.repository.js';

export const DYNAMODB_CLIENT = Symbol('DYNAMODB_CLIENT');

@Injectable()
class DynamoDbClientCloser implements OnApplicationShutdown {
  constructor(@Inject(DYNAMODB_CLIENT) private readonly client: DynamoDBClient) {}
  onApplicationShutdown(): void {
    this.client.destroy();
  }
}

/** The DynamoDB client and the shared MessagesRepository, constructed once. */
@Module({
  providers: [
    { provide: DYNAMODB_CLIENT, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createDynamoDbClient(config) },
    {
      provide: MessagesRepository,
      inject: [DYNAMODB_CLIENT, APP_CONFIG],
      useFactory: (client: DynamoDBClient, config: AppConfig) => MessagesRepository.create(client, config.dynamodb.table),
    },
    DynamoDbClientCloser,
  ],
  exports: [DYNAMODB_CLIENT, MessagesRepository],
})
export class DynamoDbModule {}
