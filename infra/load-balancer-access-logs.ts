import { CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib/core';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface LoadBalancerAccessLogsProps {
  loadBalancer: elbv2.ApplicationLoadBalancer;
  /** How long a log file is kept. */
  expiration: Duration;
}

/**
 * Access logs of the load balancer in a bucket of their own, expired after `expiration`.
 *
 * Not `loadBalancer.logAccessLogs()`: that needs the region at synth time to pick the ELB account
 * of the region, and this stack is environment-agnostic. The ELB log-delivery service principal
 * works in every region, so the bucket policy names it instead.
 */
export class LoadBalancerAccessLogs extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LoadBalancerAccessLogsProps) {
    super(scope, id);
    const { loadBalancer } = props;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      // ELB delivers access logs only to buckets with SSE-S3.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: props.expiration, abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      // Deleting the stack keeps the logs (the lifecycle rule still empties the bucket).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Holds only the load balancer access logs; logging access to them would need another bucket whose own access goes unlogged',
    });

    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')],
        actions: ['s3:PutObject'],
        // ELB writes under AWSLogs/<account of the load balancer>/: only this account's load balancers.
        resources: [this.bucket.arnForObjects(`AWSLogs/${Stack.of(this).account}/*`)],
      }),
    );

    loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    loadBalancer.setAttribute('access_logs.s3.bucket', this.bucket.bucketName);
    // ELB checks that it may write to the bucket when logging is switched on.
    (loadBalancer.node.defaultChild as CfnResource).addResourceDependency(this.bucket.policy!.node.defaultChild as CfnResource);
  }
}
