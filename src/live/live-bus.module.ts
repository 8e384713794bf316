import { Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { InProcessLiveEventBus, LiveEventBus } from './live-event.bus.js';
import { RedisLiveEventBus } from './redis-live-event.bus.js';

@Injectable()
class LiveEventBusCloser implements OnApplicationShutdown {
  constructor(private readonly bus: LiveEventBus) {}
  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}

/** The live-event bus, injected by its type: Redis pub/sub with REDIS_URL, else in process. */
@Module({
  providers: [
    {
      provide: LiveEventBus,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): LiveEventBus => {
        if (!config.redisUrl) return new InProcessLiveEventBus();
        const logger = new Logger('LiveEventBus');
        return new RedisLiveEventBus(config.redisUrl, { warn: (message) => logger.warn(message) });
      },
    },
    LiveEventBusCloser,
  ],
  exports: [LiveEventBus],
})
export class LiveBusModule {}
