import { Duration } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { ApiService } from './api-service.js';
import type { LiveEventsCache } from './live-events-cache.js';
import type { StreamProjector } from './stream-projector.js';

export interface MonitoringProps {
  stage: string;
  table: dynamodb.Table;
  projector: StreamProjector;
  api: ApiService;
  cache: LiveEventsCache;
  alarmEmail?: string;
}

/** The alarms (to one SNS topic) and the one dashboard of the service. */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { table, projector, api } = props;
    const fn = projector.function;
    const lb = api.service.loadBalancer;
    const minute = Duration.minutes(1);

    // Publishers must use TLS (CloudWatch alarms do).
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: `cruddur-messaging ${props.stage} alarms`, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const failedBatches = projector.failureQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum' });
    const iteratorAge = fn.metric('IteratorAge', { period: minute, statistic: 'Maximum' });
    const lambdaErrors = fn.metricErrors({ period: Duration.minutes(5) });
    const requests = lb.metrics.requestCount({ period: minute });
    const errorRate = new cloudwatch.MathExpression({
      label: 'API 5xx (% of requests)',
      expression: 'IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)',
      usingMetrics: {
        requests,
        target5xx: lb.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: minute }),
        elb5xx: lb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: minute }),
      },
      period: minute,
    });
    const p99 = lb.metrics.targetResponseTime({ period: minute, statistic: 'p99' });
    const throttles = table.metricThrottledRequestsForOperations({
      operations: [dynamodb.Operation.QUERY, dynamodb.Operation.GET_ITEM, dynamodb.Operation.PUT_ITEM, dynamodb.Operation.DELETE_ITEM],
      period: minute,
    });

    const alarm = (
      name: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      periods = { evaluate: 1, breaching: 1 },
    ) => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: periods.evaluate,
        datapointsToAlarm: periods.breaching,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new actions.SnsAction(this.topic));
      created.addOkAction(new actions.SnsAction(this.topic));
      this.alarms.push(created);
      return created;
    };

    alarm(
      'FailedStreamBatches',
      failedBatches,
      1,
      'Stream records gave up on the projector (retries or record age exhausted): some conversation lists are stale. The projector logs name ' +
        'the message_group_uuid; repair each with npm run ddb:replay-stream -- <group> prod.',
    );
    alarm(
      'StreamIteratorAge',
      iteratorAge,
      60_000,
      'The projector is more than a minute behind the table stream: conversation lists lag the messages.',
      { evaluate: 5, breaching: 3 },
    );
    alarm('ProjectorErrors', lambdaErrors, 1, 'The projector Lambda failed whole invocations (crash, timeout or configuration).');
    alarm('Api5xxRate', errorRate, 5, 'More than 5% of API requests answer 5xx.', { evaluate: 5, breaching: 3 });
    alarm('ApiLatencyP99', p99, 1, 'API p99 latency is above one second.', { evaluate: 5, breaching: 3 });
    alarm(
      'DynamoDbThrottles',
      throttles,
      1,
      "DynamoDB throttled requests: a hot partition (busy conversation or user). See the table's Contributor Insights.",
      { evaluate: 5, breaching: 2 },
    );

    // Live delivery: a saturated or full cache drops events (clients then resume from DynamoDB).
    alarm(
      'LiveEventsCacheCpu',
      props.cache.metric('EngineCPUUtilization').with({ period: minute }),
      80,
      'The live-events cache (Valkey) engine is above 80% CPU: pub/sub fan-out is saturating it; scale the node type.',
      { evaluate: 5, breaching: 3 },
    );
    alarm(
      'LiveEventsCacheMemory',
      props.cache.metric('DatabaseMemoryUsagePercentage').with({ period: minute }),
      80,
      'The live-events cache (Valkey) is above 80% of its memory: tickets or rate-limit counters are piling up, or subscribers are not reading.',
      { evaluate: 5, breaching: 3 },
    );

    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    const ecsService = api.service.service;

    new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `cruddur-messaging-${props.stage}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 })],
        [
          graph('API requests and 5xx %', [requests], [errorRate]),
          graph('API latency', [lb.metrics.targetResponseTime({ period: minute, statistic: 'p50' }), p99]),
          graph('API tasks: CPU and memory %', [
            ecsService.metricCpuUtilization({ period: minute }),
            ecsService.metricMemoryUtilization({ period: minute }),
          ]),
        ],
        [
          graph('Projector invocations and errors', [fn.metricInvocations({ period: minute }), fn.metricErrors({ period: minute })]),
          graph('Projector iterator age (ms) and duration', [iteratorAge], [fn.metricDuration({ period: minute, statistic: 'p99' })]),
          graph('Failed stream batches (queue depth)', [failedBatches]),
        ],
        [
          graph('DynamoDB consumed capacity', [
            table.metricConsumedWriteCapacityUnits({ period: minute }),
            table.metricConsumedReadCapacityUnits({ period: minute }),
          ]),
          graph('DynamoDB throttled requests', [throttles]),
          graph('DynamoDB latency (ms, p99)', [
            table.metricSuccessfulRequestLatency({
              period: minute,
              statistic: 'p99',
              dimensionsMap: { TableName: table.tableName, Operation: 'Query' },
            }),
            table.metricSuccessfulRequestLatency({
              period: minute,
              statistic: 'p99',
              dimensionsMap: { TableName: table.tableName, Operation: 'PutItem' },
            }),
          ]),
        ],
      ],
    });
  }
}
