import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Validations } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessagingStack } from './messaging-stack.js';
import { findProjectRoot } from './project-root.js';
import { readStageConfig } from './stage-config.js';

const projectRoot = findProjectRoot();
const featureFlags = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')).context;

/** A prod deployment into existing resources: imported VPC, ECR image, HTTPS. Dev: everything created. */
const PROD_CONTEXT = {
  stage: 'prod',
  userPoolId: 'us-east-1_AbC123',
  userPoolClientId: '5example1client2id3',
  databaseUrlSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cruddur/db-url-AbCdEf',
  vpcId: 'vpc-0123456789abcdef0',
  vpcAvailabilityZones: 'us-east-1a,us-east-1b',
  vpcPublicSubnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  vpcPrivateSubnetIds: 'subnet-0123456789abcdef2,subnet-0123456789abcdef3',
  databaseSecurityGroupId: 'sg-0123456789abcdef0',
  imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/cruddur-messaging:1.0.0',
  certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0d3c1d2e-0000-4000-8000-000000000000',
};

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };

const resourcesOf = (template: Template, type: string) => Object.entries(template.findResources(type)) as [string, Resource][];
const statementsOf = (template: Template): Statement[] => [
  ...resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement),
  ...resourcesOf(template, 'AWS::IAM::Role').flatMap(([, r]) =>
    (r.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement),
  ),
];
const logicalId = (construct: IConstruct) => MessagingStack.of(construct).getLogicalId(construct.node.defaultChild as never);

/** The AwsSolutions rules acknowledged in code (`Validations.of(x).acknowledge`), with their reasons. */
function acknowledgedRules(scope: IConstruct): { id: string; reason: string }[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ id: id.replace(/^annotation::/i, ''), reason }))
      .filter(({ id }) => id.startsWith('AwsSolutions-')),
  );
}

describe('AWS Solutions rules (cdk-nag)', () => {
  let app: App;
  let prod: MessagingStack;
  let dev: MessagingStack;
  let prodTemplate: Template;
  let devTemplate: Template;

  beforeAll(() => {
    app = new App({ context: featureFlags });
    const configOf = (context: Record<string, string>) => readStageConfig(new App({ context }).node);
    prod = new MessagingStack(app, 'Prod', { config: configOf(PROD_CONTEXT), projectRoot });
    dev = new MessagingStack(app, 'Dev', { config: configOf({}), projectRoot });
    prodTemplate = Template.fromStack(prod);
    devTemplate = Template.fromStack(dev);
  }, 120_000);

  it('finds nothing unacknowledged in either stage', () => {
    const { violations } = new AwsSolutionsChecks().validateScope(app);
    const findings = violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`));

    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a reason, and README lists exactly the acknowledged rules', () => {
    const acknowledged = acknowledgedRules(app);
    const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\| `(AwsSolutions-[^`]+)` +\|/gm)].map((match) => match[1]);

    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(40);
    expect(new Set(documented)).toEqual(new Set(acknowledged.map(({ id }) => id)));
  });

  it('grants Resource "*" only to the actions that have no resource-level permissions', () => {
    for (const template of [prodTemplate, devTemplate]) {
      const onAnyResource = statementsOf(template)
        .filter((s) => [s.Resource].flat().includes('*'))
        .flatMap((s) => [s.Action].flat());

      expect([...new Set(onAnyResource)].sort()).toEqual([
        'dynamodb:ListStreams',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ecr:GetAuthorizationToken',
      ]);
    }
  });

  it('runs the projector under its own role: no managed policy, logs written only to its own log group', () => {
    const role = resourcesOf(prodTemplate, 'AWS::IAM::Role').find(([id]) => id === logicalId(prod.projector.function.role!))![1];
    const logs = resourcesOf(prodTemplate, 'AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === logicalId(prod.projector.function.role!)))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('logs:')));

    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(logs).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId(prod.projector.function.logGroup), 'Arn'] },
      },
    ]);
  });

  it('takes alarm notifications on the topic only over TLS', () => {
    prodTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalId(prod.monitoring.topic) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('writes the load balancer access logs to a private SSE-S3 bucket, TLS only, expired after 90 days', () => {
    for (const template of [prodTemplate, devTemplate]) {
      const [[bucket, { Properties: properties }]] = resourcesOf(template, 'AWS::S3::Bucket');
      const [[policy, { Properties: bucketPolicy }]] = resourcesOf(template, 'AWS::S3::BucketPolicy');
      const [[, loadBalancer]] = resourcesOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');

      expect(loadBalancer.Properties.LoadBalancerAttributes).toEqual(
        expect.arrayContaining([
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'access_logs.s3.bucket', Value: { Ref: bucket } },
        ]),
      );
      expect(loadBalancer.DependsOn).toContain(policy);
      expect(properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
      ]);
      expect(properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(properties.LifecycleConfiguration.Rules).toEqual([expect.objectContaining({ ExpirationInDays: 90, Status: 'Enabled' })]);
      expect(bucketPolicy.PolicyDocument.Statement).toEqual([
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        {
          Effect: 'Allow',
          Action: 's3:PutObject',
          Principal: { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/AWSLogs/', { Ref: 'AWS::AccountId' }, '/*']] },
        },
      ]);
    }
  });

  it('turns Container Insights on in every stage', () => {
    for (const template of [prodTemplate, devTemplate]) {
      template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    }
  });

  it('keeps a month of flow logs of the VPC it creates, and adds none to an imported one', () => {
    const [[logGroup, { Properties: logGroupProperties }]] = resourcesOf(devTemplate, 'AWS::Logs::LogGroup').filter(([id]) =>
      id.startsWith('VpcFlowLogs'),
    );

    devTemplate.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      ResourceId: { Ref: logicalId(dev.node.findChild('Vpc')) },
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: logGroup },
    });
    expect(logGroupProperties.RetentionInDays).toBe(30);
    // The owner of an existing VPC decides its flow logs.
    prodTemplate.resourceCountIs('AWS::EC2::FlowLog', 0);
  });
});
