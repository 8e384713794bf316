import { Module } from '@nestjs/common';
import { DynamoDbModule } from '../dynamodb/dynamodb.module.js';
import { LiveBusModule } from '../live/live-bus.module.js';
import { MessagesRepository } from '../dynamodb/messages.repository.js';
import { ConversationListProjector } from '../stream/conversation-list.projector.js';
import { UsersModule } from '../users/users.module.js';
import { IdempotencyService } from './idempotency.service.js';
import { MessageGroupsController } from './message-groups.controller.js';
import { MessagesController } from './messages.controller.js';
import { MessagesService } from './messages.service.js';

@Module({
  imports: [DynamoDbModule, UsersModule, LiveBusModule],
  controllers: [MessageGroupsController, MessagesController],
  providers: [
    MessagesService,
    IdempotencyService,
    {
      provide: ConversationListProjector,
      inject: [MessagesRepository],
      useFactory: (repository: MessagesRepository) => new ConversationListProjector(repository),
    },
  ],
})
export class MessagesModule {}
