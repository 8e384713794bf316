import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from './auth/auth.module.js';
import { ApiExceptionFilter } from './common/api-exception.filter.js';
import { ApiValidationPipe } from './common/api-validation.pipe.js';
import { ConfigModule } from './config/config.module.js';
import { ConfigError, type AppConfig } from './config/config.js';
import { databaseOptions } from './database/database.options.js';
import { DynamoDbModule } from './dynamodb/dynamodb.module.js';
import { HealthModule } from './health/health.module.js';
import { LiveModule } from './live/live.module.js';
import { MessagesModule } from './messages/messages.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { ChangeCaptureEmulatorModule } from './stream/change-capture-emulator.module.js';
import { UsersModule } from './users/users.module.js';

/**
 * The application. Feature modules are listed here, in the static metadata (where `nest generate`
 * adds new ones); `forRoot` adds what needs the configuration: the config itself and the database.
 */
@Module({
  imports: [
    DynamoDbModule,
    HealthModule,
    AuthModule,
    RateLimitModule,
    UsersModule,
    MessagesModule,
    ChangeCaptureEmulatorModule,
    LiveModule,
  ],
  providers: [
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    { provide: APP_PIPE, useClass: ApiValidationPipe },
  ],
})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!config.databaseUrl) {
      throw new ConfigError('Invalid configuration: DATABASE_URL is required (or run `npm run local`, which provides one)');
    }
    if (!config.cursorSecret) {
      // The fixed local secret is public: it is only used with a local DynamoDB endpoint.
      throw new ConfigError('Invalid configuration: CURSOR_SECRET is required unless DynamoDB is on a local endpoint (DYNAMODB_ENDPOINT)');
    }
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        TypeOrmModule.forRoot({ ...databaseOptions(config.databaseUrl), retryAttempts: 1, retryDelay: 500 }),
      ],
    };
  }
}
