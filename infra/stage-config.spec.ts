import { describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib/core';
import { readStageConfig } from './stage-config.js';

const configFor = (context: Record<string, unknown>) => readStageConfig(new App({ context }).node);

const VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  vpcAvailabilityZones: 'us-east-1a,us-east-1b',
  vpcPublicSubnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  vpcPrivateSubnetIds: 'subnet-0123456789abcdef2,subnet-0123456789abcdef3',
};

describe('readStageConfig', () => {
  it('defaults to the dev stage with its own table and a small service', () => {
    const config = configFor({});

    expect(config).toMatchObject({
      stage: 'dev',
      stackName: 'CruddurMessaging-dev',
      tableName: 'cruddur-messages-dev',
      api: { minTasks: 1, maxTasks: 2 },
    });
    expect(config.vpc).toBeUndefined();
  });

  it('gives prod the original table name and room to scale', () => {
    expect(configFor({ stage: 'prod' })).toMatchObject({
      stackName: 'CruddurMessaging-prod',
      tableName: 'cruddur-messages',
      api: { minTasks: 2, maxTasks: 10 },
    });
  });

  it('reads an existing VPC from comma-separated context values', () => {
    expect(configFor(VPC).vpc).toEqual({
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      publicSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
      privateSubnetIds: ['subnet-0123456789abcdef2', 'subnet-0123456789abcdef3'],
    });
  });

  it.each([
    [{ stage: 'staging' }, /stage must be dev or prod/],
    [{ tableName: 'ab' }, /tableName/],
    [{ vpcId: 'vpc-0123456789abcdef0' }, /vpcAvailabilityZones and vpcPublicSubnetIds/],
    [{ ...VPC, vpcPrivateSubnetIds: 'subnet-1a,subnet-1b' }, /"subnet-1a" is not a subnet id/],
    [{ userPoolId: 'pool' }, /userPoolId must look like/],
    // A partial ARN (no 6-character suffix) would make the IAM grant miss the secret.
    [
      { databaseUrlSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cruddur/db-url' },
      /databaseUrlSecretArn must look like/,
    ],
  ])('rejects %j with one clear line', (context, message) => {
    expect(() => configFor(context)).toThrow(message);
  });
});
