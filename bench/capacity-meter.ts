import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resetMiddlewareCache } from '../src/dynamodb/dynamodb.client.js';

/** What one kind of DynamoDB command consumed while the meter ran. */
export interface CommandCapacity {
  calls: number;
  /** ConsumedCapacity.CapacityUnits as the database reported it (dynalite: the table's units only). */
  capacityUnits: number;
  /**
   * Puts and deletes of message-group items. Each also writes the sparse `message-group-sk-index`,
   * which DynamoDB bills as one more write unit per item up to 1 KB and dynalite does not report.
   */
  indexedWrites: number;
}

export type CapacityTotals = Record<string, CommandCapacity>;

const REPORTS_CAPACITY = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
]);
const WRITES = new Set(['PutItemCommand', 'DeleteItemCommand']);

/**
 * Counts a client's commands and the capacity they consume: while started, every command asks for
 * `ReturnConsumedCapacity: 'TOTAL'` (unless it set its own) and the reported units are summed by
 * command. Stopped, the middleware is removed: the throughput cases run the client as the app builds it.
 */
export function meterCapacity(client: DynamoDBClient) {
  const name = 'benchCapacityMeter';
  let totals: CapacityTotals | undefined;
  const attach = () =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!totals) return next(args);
        const command = context.commandName ?? 'unknown';
        const input = args.input as Record<string, unknown>;
        const metered = REPORTS_CAPACITY.has(command) && input.ReturnConsumedCapacity === undefined;
        const result = await next(metered ? { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } } : args);
        if (totals) {
          const entry = (totals[command] ??= { calls: 0, capacityUnits: 0, indexedWrites: 0 });
          entry.calls++;
          entry.capacityUnits += capacityOf((result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
          if (WRITES.has(command) && isGroupItemKey(input)) entry.indexedWrites++;
        }
        return result;
      },
      { step: 'initialize', name, priority: 'high' },
    );
  return {
    /** Adds the middleware (the client runs without it until then) and starts counting. */
    start: () => {
      totals = {};
      client.middlewareStack.remove(name);
      attach();
      resetMiddlewareCache(client);
    },
    /** Removes the middleware and returns the totals. */
    stop: (): CapacityTotals => {
      const result = totals ?? {};
      totals = undefined;
      client.middlewareStack.remove(name);
      resetMiddlewareCache(client);
      return result;
    },
  };
}

function capacityOf(consumed: unknown): number {
  if (Array.isArray(consumed)) return consumed.reduce((sum: number, c) => sum + capacityOf(c), 0);
  const units = (consumed as { CapacityUnits?: number } | undefined)?.CapacityUnits;
  return typeof units === 'number' ? units : 0;
}

/** A put or delete of a `GRP#` item, whether the input is still plain (lib-dynamodb) or marshalled. */
function isGroupItemKey(input: Record<string, unknown>): boolean {
  const keys = (input.Item ?? input.Key) as Record<string, unknown> | undefined;
  const pk = keys?.pk;
  const value = typeof pk === 'string' ? pk : (pk as { S?: string } | undefined)?.S;
  return typeof value === 'string' && value.startsWith('GRP#');
}
