import { Logger, Module, type OnApplicationShutdown, Injectable } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { DynamoDbModule } from '../dynamodb/dynamodb.module.js';
import { EventsAuthGuard } from './events-auth.guard.js';
import { EventsController } from './events.controller.js';
import { LiveBusModule } from './live-bus.module.js';
import { LiveStreamsService } from './live-streams.service.js';
import { InMemoryStreamTicketStore, RedisStreamTicketStore, StreamTicketStore } from './stream-tickets.js';

@Injectable()
class StreamTicketStoreCloser implements OnApplicationShutdown {
  constructor(private readonly tickets: StreamTicketStore) {}
  onApplicationShutdown(): void {
    this.tickets.close();
  }
}

/** Live delivery (README, "Live delivery"): GET /api/events, its tickets, and this task's open streams. */
@Module({
  imports: [AuthModule, DynamoDbModule, LiveBusModule],
  controllers: [EventsController],
  providers: [
    LiveStreamsService,
    EventsAuthGuard,
    {
      provide: StreamTicketStore,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): StreamTicketStore => {
        if (!config.redisUrl) return new InMemoryStreamTicketStore();
        const logger = new Logger('StreamTickets');
        return new RedisStreamTicketStore(config.redisUrl, (message) => logger.warn(message));
      },
    },
    StreamTicketStoreCloser,
  ],
  exports: [LiveStreamsService],
})
export class LiveModule {}
