import { Inject, Injectable, Module, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { DynamoDbModule } from '../dynamodb/dynamodb.module.js';
import { MessagesRepository } from '../dynamodb/messages.repository.js';
import { LiveBusModule } from '../live/live-bus.module.js';
import { LiveEventBus } from '../live/live-event.bus.js';
import { ChangeCaptureEmulator } from './change-capture.emulator.js';

@Injectable()
class ChangeCaptureEmulatorLifecycle implements OnModuleInit, BeforeApplicationShutdown {
  constructor(
    private readonly emulator: ChangeCaptureEmulator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.streamEmulator) this.emulator.start();
  }

  /** Before the DynamoDB client is destroyed (onApplicationShutdown): let queued projections finish. */
  async beforeApplicationShutdown(): Promise<void> {
    this.emulator.stop();
    await this.emulator.drain();
  }
}

/**
 * The change-capture emulator inside the HTTP app, started when `config.streamEmulator` is on.
 * The emulator instance is exported under its class, so tests can `drain()` it (when it is off,
 * nothing is ever queued and `drain()` resolves at once).
 */
@Module({
  imports: [DynamoDbModule, LiveBusModule],
  providers: [
    {
      provide: ChangeCaptureEmulator,
      inject: [MessagesRepository, APP_CONFIG, LiveEventBus],
      useFactory: (repository: MessagesRepository, config: AppConfig, bus: LiveEventBus) =>
        new ChangeCaptureEmulator(repository, { region: config.aws.region, bus }),
    },
    ChangeCaptureEmulatorLifecycle,
  ],
  exports: [ChangeCaptureEmulator],
})
export class ChangeCaptureEmulatorModule {}
