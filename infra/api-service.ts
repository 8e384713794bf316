import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib/core';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { TIMEOUTS } from '../src/common/timeouts.js';
import { MESSAGE_TABLE } from '../src/dynamodb/table.definition.js';
import { LoadBalancerAccessLogs } from './load-balancer-access-logs.js';
import type { Stage } from './stage-config.js';

export const API_PORT = 4567;
/** Liveness only: a dependency outage (an RDS failover) must not mark every task unhealthy. */
export const HEALTH_CHECK_PATH = '/api/health/live';

export interface ApiServiceProps {
  stage: Stage;
  vpc: ec2.IVpc;
  table: dynamodb.Table;
  projectRoot: string;
  imageUri?: string;
  userPoolId: string;
  userPoolClientId: string;
  databaseUrlSecret: secretsmanager.ISecret;
  databaseUrlSecretField?: string;
  databaseSecurityGroupId?: string;
  certificateArn?: string;
  /** CORS_ORIGINS of the API (a parameter's value). */
  corsOrigins: string;
  /** REDIS_URL: the live-events cache (live events, stream tickets, rate limits shared by the tasks). */
  redisUrl: string;
  minTasks: number;
  maxTasks: number;
}

/**
 * The HTTP API: stateless Fargate tasks behind a public ALB, scaled on CPU and on requests per
 * task. Configuration reaches the container through SSM parameters and Secrets Manager.
 */
export class ApiService extends Construct {
  readonly service: ecsPatterns.ApplicationLoadBalancedFargateService;

  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id);
    const { stage, table } = props;

    const parameter = (name: string, value: string) =>
      new ssm.StringParameter(this, name, { parameterName: `/cruddur-messaging/${stage}/${name}`, stringValue: value });
    const userPoolId = parameter('cognito-user-pool-id', props.userPoolId);
    const userPoolClientId = parameter('cognito-user-pool-client-id', props.userPoolClientId);
    const cursorSecret = new secretsmanager.Secret(this, 'CursorSecret', {
      description: 'Signs the paging cursors of cruddur-messaging (rotating it invalidates open cursors only)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(cursorSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Signs paging cursors only: rotating it turns every open cursor into a 400 and reaches tasks only when they restart; ' +
        'rotation that still accepts the previous key is future work',
    });

    const certificate = props.certificateArn ? acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn) : undefined;

    this.service = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Service', {
      cluster: new ecs.Cluster(this, 'Cluster', {
        vpc: props.vpc,
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      }),
      taskSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      publicLoadBalancer: true,
      // The same constant sets Node's keep-alive longer than this (src/common/timeouts.ts).
      idleTimeout: Duration.seconds(TIMEOUTS.http.loadBalancerIdleSeconds),
      certificate,
      redirectHTTP: certificate !== undefined,
      cpu: 512,
      memoryLimitMiB: 1024,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      // No desiredCount: autoscaling owns the task count, and a deploy must not reset it.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
      taskImageOptions: {
        containerName: 'api',
        image: this.containerImage(props),
        containerPort: API_PORT,
        environment: {
          APP_ENV: 'aws',
          PORT: String(API_PORT),
          AWS_REGION: Stack.of(this).region,
          DDB_MESSAGE_TABLE: table.tableName,
          CORS_ORIGINS: props.corsOrigins,
          // The load balancer is the one proxy in front: rate limits count per client address it saw.
          TRUST_PROXY_HOPS: '1',
          REDIS_URL: props.redisUrl,
        },
        secrets: {
          DATABASE_URL: ecs.Secret.fromSecretsManager(props.databaseUrlSecret, props.databaseUrlSecretField),
          AWS_COGNITO_USER_POOL_ID: ecs.Secret.fromSsmParameter(userPoolId),
          AWS_COGNITO_USER_POOL_CLIENT_ID: ecs.Secret.fromSsmParameter(userPoolClientId),
          CURSOR_SECRET: ecs.Secret.fromSecretsManager(cursorSecret),
        },
        logDriver: ecs.LogDrivers.awsLogs({
          streamPrefix: 'api',
          logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
        }),
      },
    });
    Validations.of(this.service.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only non-secret configuration (stage, port, region, table name); secrets come from Secrets Manager and SSM',
    });
    Validations.of(this.service.loadBalancer.connections.securityGroups[0]).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The public API load balancer must accept any client on its listener ports (443, and 80 which redirects to it when there is a certificate)',
    });
    Validations.of(this.service.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Only ecr:GetAuthorizationToken, which has no resource-level permissions; image pulls are scoped to the repository',
    });
    new LoadBalancerAccessLogs(this, 'AccessLogs', { loadBalancer: this.service.loadBalancer, expiration: Duration.days(90) });

    this.service.targetGroup.configureHealthCheck({
      path: HEALTH_CHECK_PATH,
      healthyHttpCodes: '200',
      interval: Duration.seconds(15),
      timeout: Duration.seconds(5),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 3,
    });
    // Nest drains in-flight requests on SIGTERM; five minutes of deregistration only slows deploys.
    this.service.targetGroup.setAttribute('deregistration_delay.timeout_seconds', '30');

    // Exactly the calls the API makes (test/iam-audit.e2e.spec.ts records them and holds this
    // policy to them): patterns A-D; GetItem reads member items (membership) and an item back when
    // a conditional put finds its key taken (concurrent or retried requests with one
    // Idempotency-Key); Query on the table lists members, on the index finds the members of a
    // conversation the original tools wrote; UpdateItem moves member items when the API projects a
    // new conversation's first message; DeleteItem removes a list item that projection wrote when
    // the stream's projection overtook it; DescribeTable is the health check.
    const taskRole = this.service.taskDefinition.taskRole;
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [table.tableArn, `${table.tableArn}/index/${MESSAGE_TABLE.groupIndex.name}`],
      }),
    );
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable'],
        resources: [table.tableArn],
      }),
    );

    const scaling = this.service.service.autoScaleTaskCount({ minCapacity: props.minTasks, maxCapacity: props.maxTasks });
    scaling.scaleOnCpuUtilization('CpuScaling', {
      targetUtilizationPercent: 60,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });
    // Most of a request is spent waiting on DynamoDB and Postgres, which CPU does not show.
    scaling.scaleOnRequestCount('RequestScaling', {
      requestsPerTarget: 3000,
      targetGroup: this.service.targetGroup,
      scaleOutCooldown: Duration.seconds(60),
      scaleInCooldown: Duration.minutes(5),
    });

    if (props.databaseSecurityGroupId) {
      const database = ec2.SecurityGroup.fromSecurityGroupId(this, 'DatabaseSecurityGroup', props.databaseSecurityGroupId);
      database.connections.allowFrom(this.service.service, ec2.Port.tcp(5432), 'cruddur-messaging API tasks');
    }
  }

  /**
   * A given image URI (e.g. pushed by CI), with pull rights when it is in ECR; else the repo's
   * Dockerfile as an asset: synthesis only stages the build context, `cdk deploy` builds and pushes it.
   */
  private containerImage(props: ApiServiceProps): ecs.ContainerImage {
    if (!props.imageUri) return ecs.ContainerImage.fromAsset(props.projectRoot, { platform: Platform.LINUX_AMD64 });
    const ecrImage = ECR_IMAGE.exec(props.imageUri);
    if (!ecrImage) return ecs.ContainerImage.fromRegistry(props.imageUri);
    const [, account, region, china, repositoryName, tag, digest] = ecrImage;
    const repository = ecr.Repository.fromRepositoryAttributes(this, 'ImageRepository', {
      repositoryName,
      repositoryArn: `arn:${china ? 'aws-cn' : 'aws'}:ecr:${region}:${account}:repository/${repositoryName}`,
    });
    return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
  }
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]{64}))?$/;
