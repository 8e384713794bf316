import { Validations } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';
import type { Stage } from './stage-config.js';

export const CACHE_PORT = 6379;

export interface LiveEventsCacheProps {
  stage: Stage;
  vpc: ec2.IVpc;
}

/**
 * ElastiCache for Valkey (Redis-compatible) in the private subnets: the live-event bus between the
 * projector Lambda and the API tasks, stream tickets, and the shared rate-limit counters (REDIS_URL).
 * TLS in transit, encrypted at rest; in prod a replica in a second zone with automatic failover.
 * Only the security groups allowed here reach it.
 */
export class LiveEventsCache extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** REDIS_URL for the API and the Lambda (TLS: rediss://). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: LiveEventsCacheProps) {
    super(scope, id);
    const prod = props.stage === 'prod';
    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'cruddur-messaging live events: private subnets',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'cruddur-messaging live events cache: the API tasks and the projector only',
      allowAllOutbound: false,
    });
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'cruddur-messaging live events, stream tickets and rate limits',
      engine: 'valkey',
      engineVersion: '8.0',
      cacheNodeType: 'cache.t4g.micro',
      numCacheClusters: prod ? 2 : 1,
      automaticFailoverEnabled: prod,
      multiAzEnabled: prod,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      port: CACHE_PORT,
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
    });
    this.url = `rediss://${this.replicationGroup.attrPrimaryEndPointAddress}:${this.replicationGroup.attrPrimaryEndPointPort}`;
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC5',
      reason: 'The default port 6379: a custom port hides nothing from a client that can reach the security group, which admits only ours',
    });
    Validations.of(this.replicationGroup).acknowledge({
      id: 'AwsSolutions-AEC6',
      reason:
        'No AUTH token: only the API tasks and the projector reach it (security group), over TLS; it holds transient events and tickets, no data of record',
    });
    if (!prod) {
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: 'dev runs one node: losing it costs live events for minutes (clients resume from DynamoDB), never data',
      });
    }
  }

  /** Lets `peer` (the API service, the Lambda) connect. */
  allowFrom(peer: ec2.IConnectable, description: string): void {
    this.securityGroup.connections.allowFrom(peer, ec2.Port.tcp(CACHE_PORT), description);
  }

  /** The primary node's metric (the replication group's first node is `{id}-001`). */
  metric(metricName: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ElastiCache',
      metricName,
      dimensionsMap: { CacheClusterId: `${this.replicationGroup.ref}-001` },
      statistic: 'Maximum',
    });
  }
}
