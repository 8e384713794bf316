import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resetMiddlewareCache } from '../../src/dynamodb/dynamodb.client.js';
import { Readable } from 'node:stream';
import { MESSAGE_TABLE } from '../../src/dynamodb/table.definition.js';

type Item = Record<string, AttributeValue>;
/** The parts of the SDK's HTTP request and response this double reads and writes. */
type HttpRequest = { headers: Record<string, string>; body?: unknown };
type HttpResponse = { statusCode: number; headers: Record<string, string>; body: Readable };
type RequestHandler = { handle(request: HttpRequest, options?: unknown): Promise<{ response: HttpResponse }>; destroy?(): void };

/**
 * DynamoDB's eventually consistent global secondary index, played in front of dynalite (whose
 * indexes are synchronous). While `hold()` is in force, every Query on the message-group index sent
 * through the client is answered from the index as it was when `hold()` was called: writes made
 * since are not on it yet, items deleted since still are, as on AWS within the index's lag. Reads
 * of the base table, and everything else, go to dynalite as usual.
 *
 * It replaces the client's request handler, so the SDK's and ElectroDB's own marshalling run as
 * they do against AWS. It answers the Queries this code base sends to the index (a key condition
 * on `message_group_uuid`, all pages) and refuses anything else loudly.
 */
export class LaggedIndex {
  private snapshot?: Item[];
  readonly indexQueriesServedStale: string[] = [];

  private constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  static attach(client: DynamoDBClient, table: string): LaggedIndex {
    const lagged = new LaggedIndex(client, table);
    const config = client.config as unknown as { requestHandler: RequestHandler };
    const inner = config.requestHandler;
    config.requestHandler = {
      handle: (request, options) => lagged.answer(request) ?? inner.handle(request, options),
      destroy: () => inner.destroy?.(),
    };
    // A cached stack holds the request handler it was resolved with.
    resetMiddlewareCache(client);
    return lagged;
  }

  /** From now on, index queries see the index as it is now, until `release()`. */
  async hold(): Promise<void> {
    this.snapshot = undefined;
    const items: Item[] = [];
    let ExclusiveStartKey: Item | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          ExclusiveStartKey,
          FilterExpression: 'attribute_exists(#g)',
          ExpressionAttributeNames: { '#g': MESSAGE_TABLE.groupIndex.partitionKey },
        }),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    this.snapshot = items;
  }

  /** The index catches up: queries see it as it is. */
  release(): void {
    this.snapshot = undefined;
  }

  private answer(request: HttpRequest): Promise<{ response: HttpResponse }> | undefined {
    if (!this.snapshot || request.headers['x-amz-target'] !== 'DynamoDB_20120810.Query') return undefined;
    // The SDK's body is a Uint8Array whose valueOf() warns (Buffer.from(object) calls it): read its bytes.
    const bytes: unknown = request.body;
    const body =
      bytes instanceof Uint8Array ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : String(bytes);
    const input = JSON.parse(body) as {
      TableName: string;
      IndexName?: string;
      KeyConditionExpression: string;
      FilterExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Item;
      ScanIndexForward?: boolean;
    };
    if (input.TableName !== this.table || input.IndexName !== MESSAGE_TABLE.groupIndex.name) return undefined;
    const condition = /^(#\w+) = (:\w+)$/.exec(input.KeyConditionExpression.trim());
    const name = condition && input.ExpressionAttributeNames?.[condition[1]];
    const value = condition ? input.ExpressionAttributeValues?.[condition[2]]?.S : undefined;
    if (!condition || name !== MESSAGE_TABLE.groupIndex.partitionKey || value === undefined || input.FilterExpression) {
      return Promise.reject(new Error(`LaggedIndex cannot answer this index query: ${JSON.stringify(input)}`));
    }
    this.indexQueriesServedStale.push(value);
    const sk = MESSAGE_TABLE.groupIndex.sortKey;
    const items = this.snapshot
      .filter((item) => item[MESSAGE_TABLE.groupIndex.partitionKey]?.S === value)
      .sort((a, b) => (a[sk].S! < b[sk].S! ? -1 : a[sk].S! > b[sk].S! ? 1 : 0));
    if (input.ScanIndexForward === false) items.reverse();
    const answer = JSON.stringify({ Items: items, Count: items.length, ScannedCount: items.length });
    return Promise.resolve({
      response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Readable.from([Buffer.from(answer)]) },
    });
  }
}
