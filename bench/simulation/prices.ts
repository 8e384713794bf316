/**
 * The prices the simulation's cost figures use: one table, dated. AWS list prices, us-east-1,
 * as published on the pricing pages on the date below; change the date with the figures.
 */
export const PRICES = {
  as_of: '2026-12-01',
  region: 'us-east-1',
  /** DynamoDB on-demand (Standard table class), per million request units. */
  dynamodb_per_million_wru: 0.625,
  dynamodb_per_million_rru: 0.125,
  /** DynamoDB provisioned capacity, per unit-hour (for the provisioned-vs-on-demand comparison). */
  dynamodb_per_wcu_hour: 0.00065,
  dynamodb_per_rcu_hour: 0.00013,
  /** DynamoDB storage, per GB-month (Standard table class; the first 25 GB are free). */
  dynamodb_per_gb_month: 0.25,
  /** Lambda on arm64: per million requests and per GB-second. */
  lambda_per_million_requests: 0.2,
  lambda_per_gb_second_arm: 0.0000133334,
  /** Fargate on arm64 (Linux), per vCPU-hour and per GB-hour. */
  fargate_per_vcpu_hour_arm: 0.03238,
  fargate_per_gb_hour_arm: 0.00356,
} as const;

/** DynamoDB's per-partition limits (a partition key can use no more than one partition's). */
export const PARTITION_LIMITS = { wcu_per_s: 1000, rcu_per_s: 3000 } as const;

export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
