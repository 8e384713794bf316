import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib/core';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { MESSAGE_PREFIX } from '../src/dynamodb/message.entities.js';
import { MESSAGE_TABLE } from '../src/dynamodb/table.definition.js';
import { PROJECTOR_SETTINGS } from './stream-projector.settings.js';

export interface StreamProjectorProps {
  table: dynamodb.Table;
  projectRoot: string;
  /** The VPC of the live-events cache: the function runs in its private subnets. */
  vpc: ec2.IVpc;
  /** REDIS_URL: where the projector publishes live events. */
  redisUrl: string;
}

const PROJECTOR_BATCHING = {
  batchSize: PROJECTOR_SETTINGS.batchSize,
  maxBatchingWindow: Duration.seconds(PROJECTOR_SETTINGS.maxBatchingWindowSeconds),
  retryAttempts: PROJECTOR_SETTINGS.retryAttempts,
  maxRecordAge: Duration.hours(PROJECTOR_SETTINGS.maxRecordAgeHours),
  parallelizationFactor: PROJECTOR_SETTINGS.parallelizationFactor,
} as const;

/**
 * The message-group projector (src/stream/stream.handler.ts) on the table's stream. Only INSERTs of
 * message items invoke it (its own GRP# writes never do). Records that exhaust their retries leave
 * their shard and sequence numbers in an SQS queue; the conversations are repaired with
 * `npm run ddb:replay-stream`.
 */
export class StreamProjector extends Construct {
  readonly function: NodejsFunction;
  readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: StreamProjectorProps) {
    super(scope, id);
    const { table, projectRoot, vpc } = props;

    // Its own role instead of the managed AWSLambdaBasicExecutionRole, which may write to every log group.
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(projectRoot, 'src/stream/stream.handler.ts'),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      role,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: PROJECTOR_SETTINGS.memoryMb,
      timeout: Duration.seconds(PROJECTOR_SETTINGS.timeoutSeconds),
      environment: {
        APP_ENV: 'aws',
        DDB_MESSAGE_TABLE: table.tableName,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        REDIS_URL: props.redisUrl,
        NODE_OPTIONS: '--enable-source-maps',
      },
      logGroup,
      bundling: {
        format: OutputFormat.ESM,
        // The runtime's Node version, so esbuild rewrites no syntax the runtime has.
        target: 'node24',
        minify: true,
        sourceMap: true,
        // The SDK is bundled at the version the code is tested with, not the runtime's own copy.
        externalModules: [],
        mainFields: ['module', 'main'],
        // Bundled CommonJS dependencies call require() for Node built-ins.
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });

    // Exactly the calls the projector makes (test/iam-audit.e2e.spec.ts records them and holds this
    // policy to them): the members from the table (Query, GetItem; strongly consistent), moved with
    // UpdateItem; group items put and deleted; GetItem also reads one back when a conditional put
    // finds its key taken; the index only for the members of a conversation the original tools wrote.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [table.tableArn, `${table.tableArn}/index/${MESSAGE_TABLE.groupIndex.name}`],
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [table.tableArn],
      }),
    );

    // Its network interfaces in the VPC (what the managed AWSLambdaVPCAccessExecutionRole grants, without a
    // managed policy): describing them has no resource-level permissions; the rest is scoped to this account.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'VpcDescribe',
        actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        resources: ['*'],
      }),
    );
    const ec2Arn = (type: string) => Stack.of(this).formatArn({ service: 'ec2', resource: type, resourceName: '*' });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'VpcNetworkInterfaces',
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: [ec2Arn('network-interface'), ec2Arn('subnet'), ec2Arn('security-group')],
      }),
    );

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: "The stream's on-failure destination: nothing consumes it, so no receive can fail (14-day retention, alarmed on depth)",
    });

    this.function.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: lambda.StartingPosition.LATEST,
        ...PROJECTOR_BATCHING,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.failureQueue),
        filters: [
          lambda.FilterCriteria.filter({
            // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- aws-cdk-lib types FilterRule.isEqual() as any
            eventName: lambda.FilterRule.isEqual('INSERT'),
            // Message items only: member items share the MSG# partition but carry no message_uuid.
            dynamodb: {
              Keys: { [MESSAGE_TABLE.partitionKey]: { S: lambda.FilterRule.beginsWith(MESSAGE_PREFIX) } },
              NewImage: { message_uuid: { S: lambda.FilterRule.exists() } },
            },
          }),
        ],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only dynamodb:ListStreams (the event source mapping) and ec2:DescribeNetworkInterfaces/DescribeSubnets (the function in the VPC), which have no resource-level permissions',
    });
    for (const type of ['network-interface', 'subnet', 'security-group']) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${type}/*]`,
        reason: `The function's network interfaces in the VPC (live events to the cache): Lambda names its ${type}s at run time, so this account's ${type}s`,
      });
    }
  }
}
