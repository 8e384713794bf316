import { App, type Stack } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessagingStack } from '../../infra/messaging-stack.js';
import { findProjectRoot } from '../../infra/project-root.js';
import { readStageConfig } from '../../infra/stage-config.js';

/** Synthesizing the real stacks for tests: the infra specs and the IAM audit share it. */

export const projectRoot = findProjectRoot();
const featureFlags = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')).context;

/** A prod deployment into existing resources: imported VPC, ECR image, HTTPS, alarm email, CORS origin. */
export const PROD_CONTEXT = {
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
  alarmEmail: 'ops@example.com',
  corsOrigins: 'https://cruddur.example.com',
};

export interface SynthesizedStages {
  app: App;
  prod: MessagingStack;
  dev: MessagingStack;
  prodTemplate: Template;
  devTemplate: Template;
}

/** Both stages in one app (prod with PROD_CONTEXT, dev with no context), synthesized once. */
export function synthesizeStages(): SynthesizedStages {
  const app = new App({ context: featureFlags });
  const configOf = (context: Record<string, string>) => readStageConfig(new App({ context }).node);
  const prod = new MessagingStack(app, 'Prod', { config: configOf(PROD_CONTEXT), projectRoot });
  const dev = new MessagingStack(app, 'Dev', { config: configOf({}), projectRoot });
  return { app, prod, dev, prodTemplate: Template.fromStack(prod), devTemplate: Template.fromStack(dev) };
}

export type TemplateResource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
export type PolicyStatement = {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
};

export const actionsOf = (statement: PolicyStatement) => [statement.Action ?? []].flat().sort();

export const logicalId = (stack: Stack, construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as never);

/** `Fn::GetAtt` of the table's ARN, and the ARN of its index, as the template writes them. */
export const tableArn = (stack: MessagingStack) => ({ 'Fn::GetAtt': [logicalId(stack, stack.table), 'Arn'] });
export const indexArn = (stack: MessagingStack) => ({ 'Fn::Join': ['', [tableArn(stack), '/index/message-group-sk-index']] });

/** The statements of the policies attached to a role (AWS::IAM::Policy resources). */
export function statementsOf(template: Template, roleLogicalId: string): PolicyStatement[] {
  return (Object.values(template.findResources('AWS::IAM::Policy')) as TemplateResource[])
    .filter((policy) => policy.Properties.Roles.some((role: { Ref?: string }) => role.Ref === roleLogicalId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

/**
 * Everything a role is granted in the template: its attached policies, customer-managed policies
 * and inline policies. Its AWS-managed policies cannot be read from the template: they are listed
 * for the caller to refuse.
 */
export function grantsOf(template: Template, roleLogicalId: string): { statements: PolicyStatement[]; managedPolicyArns: unknown[] } {
  const role = template.toJSON().Resources[roleLogicalId] as TemplateResource | undefined;
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role of the template`);
  const managed = (Object.values(template.findResources('AWS::IAM::ManagedPolicy')) as TemplateResource[])
    .filter((policy) => (policy.Properties.Roles ?? []).some((r: { Ref?: string }) => r.Ref === roleLogicalId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
  const inline = (role.Properties.Policies ?? []).flatMap(
    (policy: { PolicyDocument: { Statement: PolicyStatement[] } }) => policy.PolicyDocument.Statement,
  );
  return {
    statements: [...statementsOf(template, roleLogicalId), ...managed, ...inline],
    managedPolicyArns: role.Properties.ManagedPolicyArns ?? [],
  };
}
