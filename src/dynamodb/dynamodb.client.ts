import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TIMEOUTS } from '../common/timeouts.js';
import type { AppConfig } from '../config/config.js';

/**
 * One DynamoDB client per process. Against a custom endpoint (dynalite, DynamoDB Local) the SDK
 * still signs requests; emulators accept any key, so fixed dummy credentials are used. Every
 * request is bounded in time (connect and answer), and retried a bounded number of times.
 */
export function createDynamoDbClient(config: Pick<AppConfig, 'aws' | 'dynamodb'>): DynamoDBClient {
  const local = config.dynamodb.endpoint !== undefined;
  const { connectMs, requestMs, attempts } = TIMEOUTS.dynamodb;
  return new DynamoDBClient({
    region: config.aws.region,
    endpoint: config.dynamodb.endpoint,
    maxAttempts: local ? attempts.local : attempts.aws,
    requestHandler: { connectionTimeout: connectMs, requestTimeout: requestMs, throwOnRequestTimeout: true },
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}
