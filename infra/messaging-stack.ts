import { CfnOutput, CfnParameter, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib/core';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ApiService } from './api-service.js';
import { LiveEventsCache } from './live-events-cache.js';
import { createMessageTable } from './message-table.js';
import { Monitoring } from './monitoring.js';
import { CLIENT_ID_PATTERN, USER_POOL_ID_PATTERN } from '../src/config/config.js';
import { SECRET_ARN, type ExistingVpc, type StageConfig } from './stage-config.js';
import { StreamProjector } from './stream-projector.js';

export interface MessagingStackProps extends StackProps {
  config: StageConfig;
  projectRoot: string;
}

/** cruddur-messaging on AWS: the table, the stream projector, the API service, alarms and dashboard. */
export class MessagingStack extends Stack {
  readonly table: dynamodb.Table;
  readonly projector: StreamProjector;
  readonly api: ApiService;
  readonly cache: LiveEventsCache;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: MessagingStackProps) {
    super(scope, id, props);
    const { config, projectRoot } = props;

    // Existing resources: CloudFormation parameters, defaulted from CDK context when it names them.
    const parameter = (name: string, description: string, pattern: RegExp, value: string | undefined) =>
      new CfnParameter(this, name, { type: 'String', description, allowedPattern: pattern.source, default: value }).valueAsString;
    const userPoolId = parameter('UserPoolId', 'Existing Cognito user pool id', USER_POOL_ID_PATTERN, config.userPoolId);
    const userPoolClientId = parameter('UserPoolClientId', 'Existing Cognito app client id', CLIENT_ID_PATTERN, config.userPoolClientId);
    const databaseUrlSecretArn = parameter(
      'DatabaseUrlSecretArn',
      'Complete ARN of the Secrets Manager secret holding the Postgres URL',
      SECRET_ARN,
      config.databaseUrlSecretArn,
    );
    Validations.of(this).acknowledge({
      id: 'CloudFormation-Validate::W2509',
      reason: 'DatabaseUrlSecretArn names the secret; it is not one',
    });
    const corsOrigins = new CfnParameter(this, 'CorsOrigins', {
      type: 'String',
      description: 'Browser origins allowed to call the API, comma-separated (e.g. https://cruddur.example.com); empty: none',
      default: config.corsOrigins?.join(',') ?? '',
    }).valueAsString;

    const vpc = config.vpc ? this.importVpc(config.vpc) : this.createVpc(config.stage);

    this.table = createMessageTable(this, 'MessageTable', { tableName: config.tableName, stage: config.stage });
    this.cache = new LiveEventsCache(this, 'LiveEvents', { stage: config.stage, vpc });
    // The projector publishes live events to the cache, so it runs in the VPC's private subnets.
    this.projector = new StreamProjector(this, 'Projector', { table: this.table, projectRoot, vpc, redisUrl: this.cache.url });
    this.cache.allowFrom(this.projector.function, 'the projector publishes live events');
    this.api = new ApiService(this, 'Api', {
      stage: config.stage,
      vpc,
      table: this.table,
      projectRoot,
      imageUri: config.imageUri,
      userPoolId,
      userPoolClientId,
      databaseUrlSecret: secretsmanager.Secret.fromSecretCompleteArn(this, 'DatabaseUrlSecret', databaseUrlSecretArn),
      databaseUrlSecretField: config.databaseUrlSecretField,
      databaseSecurityGroupId: config.databaseSecurityGroupId,
      certificateArn: config.certificateArn,
      corsOrigins,
      redisUrl: this.cache.url,
      minTasks: config.api.minTasks,
      maxTasks: config.api.maxTasks,
    });
    this.cache.allowFrom(this.api.service.service, 'the API tasks hold live streams, tickets and rate limits');
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stage: config.stage,
      table: this.table,
      projector: this.projector,
      api: this.api,
      cache: this.cache,
      alarmEmail: config.alarmEmail,
    });

    const scheme = config.certificateArn ? 'https' : 'http';
    new CfnOutput(this, 'ApiUrl', { value: `${scheme}://${this.api.service.loadBalancer.loadBalancerDnsName}/api` });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'ProjectorFailureQueueUrl', { value: this.projector.failureQueue.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
  }

  private createVpc(stage: StageConfig['stage']): ec2.Vpc {
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: stage === 'prod' ? 2 : 1,
      // DynamoDB traffic bypasses the NAT gateways (free; NAT charges per GB).
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
      // Who talked to what, accepted or rejected: for incident review, kept as long as the other logs.
      flowLogs: {
        FlowLog: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'VpcFlowLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
          ),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
  }

  private importVpc(attributes: ExistingVpc): ec2.IVpc {
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', attributes);
    // Route tables matter only to constructs that add routes or gateway endpoints; none here do.
    Validations.of(vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
      reason: 'no routes are added to the imported VPC',
    });
    return vpc;
  }
}
