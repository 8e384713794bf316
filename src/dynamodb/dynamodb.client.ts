import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TIMEOUTS } from '../common/timeouts.js';
import type { AppConfig } from '../config/config.js';

/**
 * One DynamoDB client per process. Against a custom endpoint (dynalite, DynamoDB Local) the SDK
 * still signs requests; emulators accept any key, so fixed dummy credentials are used. Every
 * request is bounded in time (connect and answer), and retried a bounded number of times.
 *
 * `cacheMiddleware`: the client resolves a command class's middleware stack once, not on every send
 * (that resolution was about a fifth of a list page's CPU; README, "CPU per list page"). Sends with
 * options, as ElectroDB's are, are never cached, and each one empties the whole cache (the SDK's
 * rule): under mixed traffic a list page after an ElectroDB call resolves its stack once more. The
 * cache keys on the command class only: middleware on a command object of its own is not run (the
 * first object's, if it had any, is built into the cached stack and runs for every later send of the class).
 * Whoever changes the client's middleware or request handler after it has sent calls `resetMiddlewareCache`.
 */
export function createDynamoDbClient(config: Pick<AppConfig, 'aws' | 'dynamodb'>): DynamoDBClient {
  const local = config.dynamodb.endpoint !== undefined;
  const { connectMs, requestMs, attempts } = TIMEOUTS.dynamodb;
  return new DynamoDBClient({
    region: config.aws.region,
    endpoint: config.dynamodb.endpoint,
    maxAttempts: local ? attempts.local : attempts.aws,
    cacheMiddleware: true,
    requestHandler: { connectionTimeout: connectMs, requestTimeout: requestMs, throwOnRequestTimeout: true },
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

/**
 * Makes the client resolve its middleware afresh on the next send: a stack cached before a
 * middleware was added or removed (tests, the bench's capacity meter) would not run it. The SDK
 * keeps that cache in the client's `handlers`; `destroy()` clears it too, but closes the connections.
 */
export function resetMiddlewareCache(client: DynamoDBClient): void {
  Reflect.deleteProperty(client, 'handlers');
}
