import type { Node } from 'constructs';
import { CLIENT_ID_PATTERN, TABLE_NAME_PATTERN, USER_POOL_ID_PATTERN } from '../src/config/config.js';

export type Stage = 'dev' | 'prod';

/** An existing VPC, imported from its attributes (no AWS lookup at synth time). */
export interface ExistingVpc {
  vpcId: string;
  availabilityZones: string[];
  publicSubnetIds: string[];
  privateSubnetIds: string[];
}

/**
 * Everything a deployment varies by, read from CDK context (`-c key=value` or cdk.json).
 * The Cognito ids and the database secret become CloudFormation parameters whose defaults come
 * from context: synthesis needs no value, and a deploy without one fails before anything changes.
 */
export interface StageConfig {
  stage: Stage;
  stackName: string;
  tableName: string;
  userPoolId?: string;
  userPoolClientId?: string;
  /** Complete ARN of the Secrets Manager secret holding the Postgres URL. */
  databaseUrlSecretArn?: string;
  /** JSON key inside that secret, when the secret is a JSON document rather than the bare URL. */
  databaseUrlSecretField?: string;
  /** Absent: the stack creates its own VPC. */
  vpc?: ExistingVpc;
  /** The database's security group: the API tasks are allowed in on 5432. */
  databaseSecurityGroupId?: string;
  /** A prebuilt image (e.g. pushed by CI); absent: built from the repo's Dockerfile at deploy time. */
  imageUri?: string;
  /** ACM certificate for an HTTPS listener; absent: HTTP only. */
  certificateArn?: string;
  alarmEmail?: string;
  /** Browser origins allowed to call the API (the default of the CorsOrigins parameter). */
  corsOrigins?: string[];
  api: { minTasks: number; maxTasks: number };
}

export class StageConfigError extends Error {
  constructor(message: string) {
    super(`Invalid CDK context: ${message}`);
    this.name = 'StageConfigError';
  }
}

export function readStageConfig(node: Node): StageConfig {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new StageConfigError(`${key} must be a string`);
    return value.trim();
  };
  const list = (key: string): string[] | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    const items: unknown[] = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [JSON.stringify(value)];
    return items.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)).trim()).filter(Boolean);
  };
  const matching = (key: string, pattern: RegExp, example: string): string | undefined => {
    const value = text(key);
    if (value !== undefined && !pattern.test(value))
      throw new StageConfigError(`${key} must look like ${example} (got ${JSON.stringify(value)})`);
    return value;
  };

  const stage = text('stage') ?? 'dev';
  if (stage !== 'dev' && stage !== 'prod') throw new StageConfigError(`stage must be dev or prod (got ${JSON.stringify(stage)})`);

  const tableName = text('tableName') ?? (stage === 'prod' ? 'cruddur-messages' : 'cruddur-messages-dev');
  if (!TABLE_NAME_PATTERN.test(tableName)) throw new StageConfigError(`tableName must be 3-255 characters of A-Z a-z 0-9 _ . -`);

  return {
    stage,
    stackName: text('stackName') ?? `CruddurMessaging-${stage}`,
    tableName,
    userPoolId: matching('userPoolId', USER_POOL_ID_PATTERN, 'us-east-1_AbC123'),
    userPoolClientId: matching('userPoolClientId', CLIENT_ID_PATTERN, '1example23456789'),
    databaseUrlSecretArn: matching(
      'databaseUrlSecretArn',
      SECRET_ARN,
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:cruddur/db-url-AbCdEf',
    ),
    databaseUrlSecretField: text('databaseUrlSecretField'),
    vpc: readVpc(text, list),
    databaseSecurityGroupId: matching('databaseSecurityGroupId', /^sg-[0-9a-f]+$/, 'sg-0123456789abcdef0'),
    imageUri: text('imageUri'),
    certificateArn: matching('certificateArn', /^arn:aws[a-z-]*:acm:/, 'arn:aws:acm:us-east-1:123456789012:certificate/…'),
    alarmEmail: matching('alarmEmail', /^[^@\s]+@[^@\s]+$/, 'ops@example.com'),
    corsOrigins: list('corsOrigins'),
    api: stage === 'prod' ? { minTasks: 2, maxTasks: 10 } : { minTasks: 1, maxTasks: 2 },
  };
}

/** A complete secret ARN (with the 6-character suffix): IAM grants on a partial ARN do not match. */
export const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

function readVpc(text: (key: string) => string | undefined, list: (key: string) => string[] | undefined): ExistingVpc | undefined {
  const vpcId = text('vpcId');
  if (vpcId === undefined) return undefined;
  if (!/^vpc-[0-9a-f]+$/.test(vpcId))
    throw new StageConfigError(`vpcId must look like vpc-0123456789abcdef0 (got ${JSON.stringify(vpcId)})`);
  const availabilityZones = list('vpcAvailabilityZones') ?? [];
  const publicSubnetIds = list('vpcPublicSubnetIds') ?? [];
  const privateSubnetIds = list('vpcPrivateSubnetIds') ?? [];
  for (const [key, ids] of [
    ['vpcPublicSubnetIds', publicSubnetIds],
    ['vpcPrivateSubnetIds', privateSubnetIds],
  ] as const) {
    if (ids.length !== availabilityZones.length || ids.length < 2) {
      throw new StageConfigError(
        `with vpcId, give vpcAvailabilityZones and ${key} as comma-separated lists of the same length (at least 2)`,
      );
    }
    const bad = ids.find((id) => !/^subnet-[0-9a-f]{8,17}$/.test(id));
    if (bad) throw new StageConfigError(`${key}: ${JSON.stringify(bad)} is not a subnet id like subnet-0123456789abcdef0`);
  }
  return { vpcId, availabilityZones, publicSubnetIds, privateSubnetIds };
}
