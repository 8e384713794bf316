import { Module } from '@nestjs/common';
import { DynamoDbModule } from '../dynamodb/dynamodb.module.js';
import { MessagesRepository } from '../dynamodb/messages.repository.js';
import { MessageGroupProjector } from '../stream/message-group.projector.js';
import { UsersModule } from '../users/users.module.js';
import { IdempotencyService } from './idempotency.service.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';

@Module({
  imports: [DynamoDbModule, UsersModule],
  controllers: [MessagesController],
  providers: [
    MessagesService,
    IdempotencyService,
    { provide: MessageGroupProjector, inject: [MessagesRepository], useFactory: (repository: MessagesRepository) => new MessageGroupProjector(repository) },
  ],
})
export class MessagesModule {}
