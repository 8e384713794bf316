import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppConfig } from '../config/config.js';

/**
 * One DynamoDB client per process. Against a custom endpoint (dynalite, DynamoDB Local) the SDK
 * still signs requests; emulators accept any key, so fixed dummy credentials are used.
 */
export function createDynamoDbClient(config: Pick<AppConfig, 'aws' | 'dynamodb'>): DynamoDBClient {
  const local = config.dynamodb.endpoint !== undefined;
  return new DynamoDBClient({
    region: config.aws.region,
    endpoint: config.dynamodb.endpoint,
    maxAttempts: local ? 2 : 3,
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}
