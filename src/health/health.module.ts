import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DynamoDbModule } from '../dynamodb/dynamodb.module.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), DynamoDbModule],
  controllers: [HealthController],
})
export class HealthModule {}
