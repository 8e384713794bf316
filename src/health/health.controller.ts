import {
  Catch,
  Controller,
  Get,
  Inject,
  ServiceUnavailableException,
  UseFilters,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator.js';
import { RATE_LIMIT_POLICIES } from '../rate-limit/rate-limit.policies.js';
import { RateLimited } from '../rate-limit/rate-limited.decorator.js';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { DYNAMODB_CLIENT } from '../dynamodb/dynamodb.module.js';

/** The readiness checks answer Terminus's own report when something is down: it names each dependency. */
@Catch(ServiceUnavailableException)
class HealthReportFilter implements ExceptionFilter {
  catch(exception: ServiceUnavailableException, host: ArgumentsHost): void {
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .header('Retry-After', '1')
      .status(exception.getStatus())
      .send(exception.getResponse());
  }
}

/**
 * Terminus's two kinds of check. Liveness (`/api/health/live`): 200 while the process serves
 * requests, no dependency checked; the load balancer's target health check and the image's
 * HEALTHCHECK use it, so a Postgres or DynamoDB outage (an RDS failover) does not get every task
 * replaced at once. Readiness (`/api/health/ready`, and `/api/health` for people): 200 when
 * DynamoDB (the table) and Postgres answer, 503 naming what is down; it calls both, so it counts
 * under the public routes' rate limit.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly typeorm: TypeOrmHealthIndicator,
    @Inject(DYNAMODB_CLIENT) private readonly dynamodb: DynamoDBClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: "Liveness: 200 while the process serves requests; checks no dependency (the load balancer's health check)" })
  live() {
    return this.health.check([]);
  }

  @Public()
  @RateLimited(RATE_LIMIT_POLICIES.public)
  @Get('ready')
  @HealthCheck()
  @UseFilters(HealthReportFilter)
  @ApiOperation({ summary: 'Readiness: 200 when DynamoDB and Postgres answer, else 503 naming what is down' })
  ready() {
    return this.dependencies();
  }

  @Public()
  @RateLimited(RATE_LIMIT_POLICIES.public)
  @Get()
  @HealthCheck()
  @UseFilters(HealthReportFilter)
  @ApiOperation({ summary: 'The readiness check (the same as /api/health/ready)' })
  check() {
    return this.dependencies();
  }

  private dependencies() {
    return this.health.check([
      () =>
        this.indicators
          .check('dynamodb')
          .attempt(async ({ signal }) => {
            const { Table } = await this.dynamodb.send(new DescribeTableCommand({ TableName: this.config.dynamodb.table }), {
              abortSignal: signal,
            });
            // The table's state, not its name: the check is public.
            return { tableStatus: Table?.TableStatus };
          })
          .withTimeout(2000),
      () => this.typeorm.pingCheck('postgres').withTimeout(2000),
    ]);
  }
}
