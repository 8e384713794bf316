import { Catch, Controller, Get, Inject, ServiceUnavailableException, UseFilters, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../auth/public.decorator.js';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { DYNAMODB_CLIENT } from '../dynamodb/dynamodb.module.js';

/** /api/health answers Terminus's own report when something is down: it names each dependency. */
@Catch(ServiceUnavailableException)
class HealthReportFilter implements ExceptionFilter {
  catch(exception: ServiceUnavailableException, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<Response>().setHeader('Retry-After', '1').status(exception.getStatus()).json(exception.getResponse());
  }
}

/** Liveness and readiness: 200 when DynamoDB (the table) and Postgres answer, 503 naming what is down. */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(TypeOrmHealthIndicator) private readonly typeorm: TypeOrmHealthIndicator,
    @Inject(DYNAMODB_CLIENT) private readonly dynamodb: DynamoDBClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Get()
  @HealthCheck()
  @UseFilters(HealthReportFilter)
  check() {
    return this.health.check([
      () =>
        this.indicators
          .check('dynamodb')
          .attempt(async ({ signal }) => {
            const { Table } = await this.dynamodb.send(new DescribeTableCommand({ TableName: this.config.dynamodb.table }), { abortSignal: signal });
            return { table: Table?.TableName, tableStatus: Table?.TableStatus };
          })
          .withTimeout(2000),
      () => this.typeorm.pingCheck('postgres').withTimeout(2000),
    ]);
  }
}
