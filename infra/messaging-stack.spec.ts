import { beforeAll, describe, expect, it } from '@jest/globals';
import type { App } from 'aws-cdk-lib/core';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { HEALTH_CHECK_PATH } from './api-service.js';
import { fitServerTimeouts } from '../src/app.factory.js';
import { TIMEOUTS } from '../src/common/timeouts.js';
import { DEFAULT_LIVE_LIMITS, loadConfig } from '../src/config/config.js';
import { messageTableDefinition } from '../src/dynamodb/table.definition.js';
import {
  actionsOf,
  indexArn,
  logicalId,
  PROD_CONTEXT,
  statementsOf,
  synthesizeStages,
  tableArn,
  type PolicyStatement as Statement,
  type TemplateResource as Resource,
} from '../test/support/messaging-stack.js';
import type { MessagingStack } from './messaging-stack.js';
import { findProjectRoot } from './project-root.js';

/** REDIS_URL as the template writes it: TLS to the live-events cache's primary endpoint. */
const cacheUrl = (stack: MessagingStack) => {
  const id = stack.getLogicalId(stack.cache.replicationGroup);
  return {
    'Fn::Join': ['', ['rediss://', { 'Fn::GetAtt': [id, 'PrimaryEndPoint.Address'] }, ':', { 'Fn::GetAtt': [id, 'PrimaryEndPoint.Port'] }]],
  };
};

const one = (template: Template, type: string): Resource => {
  const found = Object.values(template.findResources(type)) as Resource[];
  expect(found).toHaveLength(1);
  return found[0];
};

describe('MessagingStack', () => {
  let app: App;
  let prod: MessagingStack;
  let prodTemplate: Template;
  let devTemplate: Template;

  beforeAll(() => {
    // One synthesis of the app; both templates come from it.
    ({ app, prod, prodTemplate, devTemplate } = synthesizeStages());
  }, 120_000);

  describe('the messages table', () => {
    it('has exactly the key schema, attributes, index and stream of the shared table definition', () => {
      const definition = messageTableDefinition('cruddur-messages');
      const table = one(prodTemplate, 'AWS::DynamoDB::Table').Properties;

      expect(table.TableName).toBe('cruddur-messages');
      expect(table.KeySchema).toEqual(definition.KeySchema);
      expect(table.AttributeDefinitions).toEqual(expect.arrayContaining(definition.AttributeDefinitions!));
      expect(table.AttributeDefinitions).toHaveLength(definition.AttributeDefinitions!.length);
      expect(table.GlobalSecondaryIndexes).toEqual(definition.GlobalSecondaryIndexes);
      expect(table.StreamSpecification).toEqual({ StreamViewType: definition.StreamSpecification!.StreamViewType });
    });

    it('is the original layout: pk/sk, the sparse GSI on message_group_uuid, NEW_IMAGE stream', () => {
      prodTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'message-group-sk-index',
            KeySchema: [
              { AttributeName: 'message_group_uuid', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      });
    });

    it('is on-demand with point-in-time recovery in every stage', () => {
      for (const template of [prodTemplate, devTemplate]) {
        template.hasResourceProperties('AWS::DynamoDB::Table', {
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        });
      }
    });

    it('is protected from deletion and retained in prod, disposable in dev', () => {
      const prodTable = one(prodTemplate, 'AWS::DynamoDB::Table');
      const devTable = one(devTemplate, 'AWS::DynamoDB::Table');

      expect(prodTable.Properties.DeletionProtectionEnabled).toBe(true);
      expect([prodTable.DeletionPolicy, prodTable.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
      expect(devTable.Properties.DeletionProtectionEnabled).toBe(false);
      expect(devTable.Properties.TableName).toBe('cruddur-messages-dev');
      expect(devTable.DeletionPolicy).toBe('Delete');
    });
  });

  describe('the projector Lambda', () => {
    it('runs the bundled stream handler on Node 24 with the table name', () => {
      prodTemplate.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Environment: { Variables: Match.objectLike({ DDB_MESSAGE_TABLE: { Ref: logicalId(prod, prod.table) } }) },
      });
    });

    it('reads the stream from LATEST: INSERTs of MSG# items, partial failures, bisect, bounded retries and age, SQS on failure', () => {
      const mapping = one(prodTemplate, 'AWS::Lambda::EventSourceMapping').Properties;

      expect(mapping).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': [logicalId(prod, prod.table), 'StreamArn'] },
        StartingPosition: 'LATEST',
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 21600,
        ParallelizationFactor: 1,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(prod, prod.projector.failureQueue), 'Arn'] } } },
      });
      expect(mapping.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern))).toEqual([
        {
          eventName: ['INSERT'],
          dynamodb: { Keys: { pk: { S: [{ prefix: 'MSG#' }] } }, NewImage: { message_uuid: { S: [{ exists: true }] } } },
        },
      ]);
    });

    it('may query the table and the GSI and get, put, update and delete items of the table, and nothing else there', () => {
      // test/iam-audit.e2e.spec.ts proves the first two are the calls the projector makes; the last
      // two are the event source mapping's reads of the stream.
      const role = prod.getLogicalId(prod.projector.function.role!.node.defaultChild as never);
      const dynamodb = statementsOf(prodTemplate, role).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));

      expect(dynamodb.map((s) => ({ actions: actionsOf(s), resource: s.Resource }))).toEqual([
        { actions: ['dynamodb:Query'], resource: [tableArn(prod), indexArn(prod)] },
        { actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resource: tableArn(prod) },
        { actions: ['dynamodb:ListStreams'], resource: '*' },
        {
          actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          resource: { 'Fn::GetAtt': [logicalId(prod, prod.table), 'StreamArn'] },
        },
      ]);
    });

    it('bundles to an ES module whose handler runs and skips records it does not project', () => {
      const code = one(prodTemplate, 'AWS::Lambda::Function').Properties.Code;
      const bundle = join(app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.mjs');
      const event = { Records: [{ eventID: '1', eventName: 'MODIFY', dynamodb: { Keys: { pk: { S: 'MSG#g' }, sk: { S: 's' } } } }] };
      const script = `const { handler } = await import(${JSON.stringify(bundle)}); console.log(JSON.stringify(await handler(${JSON.stringify(event)})));`;

      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          DDB_MESSAGE_TABLE: 'cruddur-messages',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        encoding: 'utf8',
      });

      expect(JSON.parse(output)).toEqual({ batchItemFailures: [] });
    });
  });

  describe('least privilege', () => {
    it('grants no wildcard action anywhere', () => {
      for (const template of [prodTemplate, devTemplate]) {
        const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Resource[];
        const roles = Object.values(template.findResources('AWS::IAM::Role')) as Resource[];
        const statements: Statement[] = [
          ...policies.flatMap((p) => p.Properties.PolicyDocument.Statement),
          ...roles.flatMap((r) => (r.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement)),
        ];

        expect(statements.length).toBeGreaterThan(5);
        const wildcards = statements.flatMap(actionsOf).filter((action) => action === '*' || action.endsWith(':*'));
        expect(wildcards).toEqual([]);
      }
    });

    it('lets the API task query the table and the GSI, get, put, update and delete items, describe the table', () => {
      const role = prod.getLogicalId(prod.api.service.taskDefinition.taskRole.node.defaultChild as never);

      // test/iam-audit.e2e.spec.ts proves these are the calls the API makes.
      expect(statementsOf(prodTemplate, role).map((s) => ({ actions: actionsOf(s), resource: s.Resource }))).toEqual([
        { actions: ['dynamodb:Query'], resource: [tableArn(prod), indexArn(prod)] },
        {
          actions: ['dynamodb:DeleteItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resource: tableArn(prod),
        },
      ]);
    });

    it('lets the task execution role pull the given ECR image and read exactly the secrets and parameters the container gets', () => {
      const role = prod.getLogicalId(prod.api.service.taskDefinition.executionRole!.node.defaultChild as never);
      const statements = statementsOf(prodTemplate, role);
      const secrets = statements.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))!;
      const parameters = statements.find((s) => actionsOf(s).includes('ssm:GetParameters'))!;

      expect(statements.find((s) => actionsOf(s).includes('ecr:BatchGetImage'))!.Resource).toBe(
        'arn:aws:ecr:us-east-1:123456789012:repository/cruddur-messaging',
      );
      expect(secrets.Resource).toEqual(expect.arrayContaining([{ Ref: 'DatabaseUrlSecretArn' }]));
      expect(secrets.Resource).toHaveLength(2);
      expect(parameters.Resource).toHaveLength(2);
    });
  });

  describe('the API service', () => {
    it('runs on Fargate in the private subnets behind the ALB, health-checked on the liveness route /api/health/live', () => {
      prodTemplate.hasResourceProperties('AWS::ECS::Service', {
        LaunchType: 'FARGATE',
        LoadBalancers: [{ ContainerName: 'api', ContainerPort: 4567, TargetGroupArn: Match.anyValue() }],
        NetworkConfiguration: {
          AwsvpcConfiguration: Match.objectLike({
            AssignPublicIp: 'DISABLED',
            Subnets: ['subnet-0123456789abcdef2', 'subnet-0123456789abcdef3'],
          }),
        },
        DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
      });
      prodTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        HealthCheckPath: '/api/health/live',
        Matcher: { HttpCode: '200' },
        TargetType: 'ip',
      });
      prodTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Scheme: 'internet-facing',
        Subnets: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
      });
    });

    it('keeps idle connections open in Node longer than the load balancer does (no 502 from a reused closed connection)', () => {
      const server = createServer();
      fitServerTimeouts(server);
      const idle = one(prodTemplate, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Properties.LoadBalancerAttributes.find(
        (a: { Key: string }) => a.Key === 'idle_timeout.timeout_seconds',
      );

      expect(Number(idle.Value)).toBe(TIMEOUTS.http.loadBalancerIdleSeconds);
      expect(server.keepAliveTimeout).toBeGreaterThan(Number(idle.Value) * 1000);
      expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
    });

    it('lets a quiet event stream through the load balancer: heartbeats come well inside its idle timeout, whatever the setting', () => {
      const idle = one(prodTemplate, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Properties.LoadBalancerAttributes.find(
        (a: { Key: string }) => a.Key === 'idle_timeout.timeout_seconds',
      );

      // The default (15 s) leaves three heartbeats per idle timeout; the largest setting allowed (50 s) one.
      expect(DEFAULT_LIVE_LIMITS.heartbeatSeconds * 3).toBeLessThanOrEqual(Number(idle.Value));
      expect(loadConfig({ LIVE_HEARTBEAT_SECONDS: '50' }).live.heartbeatSeconds).toBeLessThan(Number(idle.Value));
      expect(() => loadConfig({ LIVE_HEARTBEAT_SECONDS: String(idle.Value) })).toThrow(/LIVE_HEARTBEAT_SECONDS/);
    });

    it('reaches the live-events cache from the API tasks and the projector only, over TLS, encrypted at rest; a replica in prod', () => {
      const cache = one(prodTemplate, 'AWS::ElastiCache::ReplicationGroup').Properties;
      const ingress = Object.values(prodTemplate.findResources('AWS::EC2::SecurityGroupIngress')) as Resource[];
      const cacheGroup = { 'Fn::GetAtt': [prod.getLogicalId(prod.cache.securityGroup.node.defaultChild as never), 'GroupId'] };
      const sources = ingress
        .filter((i) => JSON.stringify(i.Properties.GroupId) === JSON.stringify(cacheGroup))
        .map((i) => [i.Properties.FromPort, i.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]]);

      expect(cache).toMatchObject({
        Engine: 'valkey',
        TransitEncryptionEnabled: true,
        AtRestEncryptionEnabled: true,
        NumCacheClusters: 2,
        AutomaticFailoverEnabled: true,
        MultiAZEnabled: true,
      });
      expect(one(devTemplate, 'AWS::ElastiCache::ReplicationGroup').Properties.NumCacheClusters).toBe(1);
      expect(sources.sort()).toEqual(
        [
          [6379, prod.getLogicalId(prod.api.service.service.connections.securityGroups[0].node.defaultChild as never)],
          [6379, prod.getLogicalId(prod.projector.function.connections.securityGroups[0].node.defaultChild as never)],
        ].sort(),
      );
      prodTemplate.hasResourceProperties('AWS::Lambda::Function', {
        VpcConfig: Match.objectLike({ SubnetIds: PROD_CONTEXT.vpcPrivateSubnetIds.split(',') }),
        Environment: { Variables: Match.objectLike({ REDIS_URL: cacheUrl(prod) }) },
      });
    });

    it('takes the allowed browser origins as a parameter, defaulted from context', () => {
      expect(prodTemplate.toJSON().Parameters.CorsOrigins).toMatchObject({ Type: 'String', Default: PROD_CONTEXT.corsOrigins });
      expect(devTemplate.toJSON().Parameters.CorsOrigins).toMatchObject({ Type: 'String', Default: '' });
    });

    it('serves HTTPS with the given certificate and redirects HTTP in prod', () => {
      prodTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443,
        Protocol: 'HTTPS',
        Certificates: [{ CertificateArn: PROD_CONTEXT.certificateArn }],
      });
      prodTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 80,
        DefaultActions: [Match.objectLike({ Type: 'redirect' })],
      });
    });

    it('scales between the stage bounds on CPU and on requests per task', () => {
      prodTemplate.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 10 });
      devTemplate.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 2 });
      const metrics = (Object.values(prodTemplate.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')) as Resource[]).map(
        (p) => p.Properties.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType,
      );

      expect(metrics.sort()).toEqual(['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization']);
      // Autoscaling owns the count: a deploy must not reset it.
      expect(one(prodTemplate, 'AWS::ECS::Service').Properties.DesiredCount).toBeUndefined();
    });

    it('tells the app to use real Cognito and the table, with the database URL, Cognito ids and cursor secret as secrets', () => {
      const [container] = one(prodTemplate, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions;
      const environment = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
      const secrets = Object.fromEntries(container.Secrets.map((s: { Name: string; ValueFrom: unknown }) => [s.Name, s.ValueFrom]));

      expect(container.Image).toEqual({
        'Fn::Join': ['', ['123456789012.dkr.ecr.us-east-1.', { Ref: 'AWS::URLSuffix' }, '/cruddur-messaging:1.0.0']],
      });
      expect(environment).toEqual({
        APP_ENV: 'aws',
        PORT: '4567',
        AWS_REGION: { Ref: 'AWS::Region' },
        DDB_MESSAGE_TABLE: { Ref: logicalId(prod, prod.table) },
        CORS_ORIGINS: { Ref: 'CorsOrigins' },
        TRUST_PROXY_HOPS: '1',
        REDIS_URL: cacheUrl(prod),
      });
      expect(Object.keys(secrets).sort()).toEqual([
        'AWS_COGNITO_USER_POOL_CLIENT_ID',
        'AWS_COGNITO_USER_POOL_ID',
        'CURSOR_SECRET',
        'DATABASE_URL',
      ]);
      expect(secrets.DATABASE_URL).toEqual({ Ref: 'DatabaseUrlSecretArn' });
    });

    it('sets exactly the variables the app configuration needs to start against AWS', () => {
      const [container] = one(prodTemplate, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions;
      const resolved: Record<string, string> = {
        APP_ENV: 'aws',
        PORT: '4567',
        AWS_REGION: 'us-east-1',
        DDB_MESSAGE_TABLE: 'cruddur-messages',
        DATABASE_URL: 'postgres://app:secret@db.internal:5432/cruddur',
        AWS_COGNITO_USER_POOL_ID: PROD_CONTEXT.userPoolId,
        AWS_COGNITO_USER_POOL_CLIENT_ID: PROD_CONTEXT.userPoolClientId,
        CURSOR_SECRET: 'x'.repeat(64),
        CORS_ORIGINS: PROD_CONTEXT.corsOrigins,
        TRUST_PROXY_HOPS: '1',
        REDIS_URL: 'rediss://master.cruddur-live.abc123.use1.cache.amazonaws.com:6379',
      };
      const names = [...container.Environment, ...container.Secrets].map((v: { Name: string }) => v.Name).sort();

      expect(names).toEqual(Object.keys(resolved).sort());
      expect(loadConfig(resolved)).toMatchObject({
        appEnv: 'aws',
        streamEmulator: false,
        dynamodb: { endpoint: undefined, table: 'cruddur-messages' },
        corsOrigins: [PROD_CONTEXT.corsOrigins],
        trustProxyHops: 1,
        redisUrl: resolved.REDIS_URL,
      });
    });

    it('lets the API tasks reach the database security group on 5432', () => {
      prodTemplate.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: PROD_CONTEXT.databaseSecurityGroupId,
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
      });
    });
  });

  describe('existing resources', () => {
    it('imports the given VPC instead of creating one', () => {
      prodTemplate.resourceCountIs('AWS::EC2::VPC', 0);
      devTemplate.resourceCountIs('AWS::EC2::VPC', 1);
      devTemplate.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.anyValue() });
    });

    it('takes the Cognito ids and the database secret as parameters, defaulted from context', () => {
      expect(prodTemplate.toJSON().Parameters).toMatchObject({
        UserPoolId: { Type: 'String', Default: PROD_CONTEXT.userPoolId },
        UserPoolClientId: { Type: 'String', Default: PROD_CONTEXT.userPoolClientId },
        DatabaseUrlSecretArn: { Type: 'String', Default: PROD_CONTEXT.databaseUrlSecretArn },
      });
      // Without context a deploy must be given them: CloudFormation refuses parameters without a value.
      const devParameters = devTemplate.toJSON().Parameters;
      for (const name of ['UserPoolId', 'UserPoolClientId', 'DatabaseUrlSecretArn']) expect(devParameters[name].Default).toBeUndefined();
    });

    it('stores the Cognito ids as SSM parameters the container reads', () => {
      prodTemplate.hasResourceProperties('AWS::SSM::Parameter', {
        Name: '/cruddur-messaging/prod/cognito-user-pool-id',
        Value: { Ref: 'UserPoolId' },
      });
      prodTemplate.hasResourceProperties('AWS::SSM::Parameter', {
        Name: '/cruddur-messaging/prod/cognito-user-pool-client-id',
        Value: { Ref: 'UserPoolClientId' },
      });
    });

    it('builds the dev image from the repository Dockerfile, staging only what the build reads', () => {
      const [container] = one(devTemplate, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions;
      const hash = /:([0-9a-f]{64})$/.exec(container.Image['Fn::Sub'])![1];
      const context = join(app.outdir, `asset.${hash}`);

      for (const file of ['Dockerfile', 'package-lock.json', 'tsconfig.build.json', 'src/main.ts', 'src/stream/stream.handler.ts']) {
        expect(existsSync(join(context, file))).toBe(true);
      }
      for (const excluded of ['node_modules', 'dist', 'test', 'infra', '.local', 'src/dynamodb/messages.repository.spec.ts']) {
        expect(existsSync(join(context, excluded))).toBe(false);
      }
    });
  });

  it('the image checks its health on the same liveness route as the load balancer', () => {
    const dockerfile = readFileSync(join(findProjectRoot(), 'Dockerfile'), 'utf8');
    const healthcheck = /^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$/m.exec(dockerfile)![1];

    expect(HEALTH_CHECK_PATH).toBe('/api/health/live');
    expect(JSON.parse(healthcheck).join(' ')).toContain(`'${HEALTH_CHECK_PATH}'`);
  });

  it('the image starts the API with the Node flags of npm run start:prod', () => {
    const root = findProjectRoot();
    const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts['start:prod'] as string;
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))![1];

    expect(JSON.parse(cmd)).toEqual(start.split(' '));
    expect(start).toMatch(/--max-old-space-size=\d+/);
    // Every flag is one --word (the bench passes the words that start with -- to its API process).
    const [node, ...rest] = start.split(' ');
    expect(node).toBe('node');
    expect(rest.slice(0, -1).every((word) => /^--[a-z-]+(=\S+)?$/.test(word))).toBe(true);
    expect(rest.at(-1)).toBe('dist/src/main.js');
  });

  describe('monitoring', () => {
    const metricsOf = (alarm: Resource): string[] =>
      alarm.Properties.MetricName
        ? [alarm.Properties.MetricName]
        : alarm.Properties.Metrics.flatMap((m: any) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []));

    it('alarms on failed stream batches, iterator age, Lambda errors, API 5xx rate and p99 latency, DynamoDB throttles', () => {
      const alarms = Object.values(prodTemplate.findResources('AWS::CloudWatch::Alarm')) as Resource[];
      const watched = alarms.map((alarm) => metricsOf(alarm).sort().join('+')).sort();

      expect(watched).toEqual([
        'ApproximateNumberOfMessagesVisible',
        'DatabaseMemoryUsagePercentage',
        'EngineCPUUtilization',
        'Errors',
        'HTTPCode_ELB_5XX_Count+HTTPCode_Target_5XX_Count+RequestCount',
        'IteratorAge',
        'TargetResponseTime',
        'ThrottledRequests+ThrottledRequests+ThrottledRequests+ThrottledRequests',
      ]);
      prodTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'TargetResponseTime',
        ExtendedStatistic: 'p99',
        Threshold: 1,
      });
      prodTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Statistic: 'Maximum', Threshold: 60000 });
    });

    it('sends every alarm to the alarm topic, which mails the given address', () => {
      const topic = { Ref: logicalId(prod, prod.monitoring.topic) };
      for (const alarm of Object.values(prodTemplate.findResources('AWS::CloudWatch::Alarm')) as Resource[]) {
        expect(alarm.Properties.AlarmActions).toEqual([topic]);
      }
      prodTemplate.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: PROD_CONTEXT.alarmEmail });
    });

    it('has one dashboard', () => {
      prodTemplate.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      prodTemplate.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'cruddur-messaging-prod' });
    });
  });
});
