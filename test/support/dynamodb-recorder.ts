import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resetMiddlewareCache } from '../../src/dynamodb/dynamodb.client.js';

/**
 * One DynamoDB call as IAM authorizes it: the action (`dynamodb:GetItem`) and the resource it is
 * evaluated on, written as the tail of its ARN: `table/{name}`, `table/{name}/index/{index}`, or
 * `*` for calls on no table (ListTables).
 */
export interface DynamoDbCall {
  action: string;
  resource: string;
}

export interface RecordedCall extends DynamoDbCall {
  /** How many times it was sent. */
  count: number;
}

/** A table name or a table ARN (DynamoDB accepts both) → `table/{name}`. */
const tableResource = (table: string) =>
  `table/${table.startsWith('arn:') ? table.slice(table.indexOf(':table/') + ':table/'.length) : table}`;

/** What each entry of a transaction is authorized as (a transaction has no IAM action of its own). */
const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};

/** Actions on no resource in particular (IAM grants them on `*`). */
const ACCOUNT_ACTIONS = new Set(['dynamodb:ListTables', 'dynamodb:DescribeLimits', 'dynamodb:DescribeEndpoints']);

/** The IAM (action, resource) pairs one command is authorized as; undefined when the recorder cannot tell. */
export function callsOf(commandName: string, input: unknown): DynamoDbCall[] | undefined {
  const action = `dynamodb:${commandName.replace(/Command$/, '')}`;
  const fields = (input ?? {}) as { TableName?: unknown; IndexName?: unknown; RequestItems?: unknown; TransactItems?: unknown };
  if (typeof fields.TableName === 'string') {
    const table = tableResource(fields.TableName);
    return [{ action, resource: typeof fields.IndexName === 'string' ? `${table}/index/${fields.IndexName}` : table }];
  }
  // BatchGetItem, BatchWriteItem: one authorization per table, under the batch's own action.
  if (fields.RequestItems && typeof fields.RequestItems === 'object') {
    return Object.keys(fields.RequestItems).map((table) => ({ action, resource: tableResource(table) }));
  }
  // TransactWriteItems, TransactGetItems: each entry is authorized as its own item action.
  if (Array.isArray(fields.TransactItems)) {
    const calls: DynamoDbCall[] = [];
    for (const entry of fields.TransactItems as Record<string, { TableName?: unknown }>[]) {
      const [kind, operation] = Object.entries(entry)[0] ?? [];
      if (!kind || !(kind in TRANSACT_ACTIONS) || typeof operation?.TableName !== 'string') return undefined;
      calls.push({ action: TRANSACT_ACTIONS[kind], resource: tableResource(operation.TableName) });
    }
    return calls;
  }
  if (ACCOUNT_ACTIONS.has(action)) return [{ action, resource: '*' }];
  return undefined;
}

/**
 * Records every DynamoDB call sent through the clients it is attached to: a middleware at the front
 * of the `initialize` step, so it sees each command once (SDK retries happen further down the
 * stack) with its input as the caller built it. ElectroDB sends lib-dynamodb's commands
 * (GetCommand, QueryCommand…) through the client it is given; their `commandName` is the wrapped
 * command's (GetItemCommand), and TableName and IndexName are plain fields of their input, so they
 * are recorded like the SDK's own commands. A call is recorded before it is sent, so calls that
 * fail (as they would with AccessDenied) count too.
 */
export class DynamoDbRecorder {
  private readonly counts = new Map<string, RecordedCall>();
  private readonly unknown = new Set<string>();

  /** Records `client`'s calls from now on (several clients may share one recorder: two API tasks). */
  attach(client: DynamoDBClient): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        this.record(context.commandName ?? 'unknown', args.input);
        return next(args);
      },
      { step: 'initialize', priority: 'high', name: 'recordDynamoDbCalls' },
    );
    resetMiddlewareCache(client);
    return this;
  }

  /** The distinct calls sent so far, sorted by action, then resource. */
  calls(): RecordedCall[] {
    return [...this.counts.values()]
      .map((c) => ({ ...c }))
      .sort((a, b) => a.action.localeCompare(b.action) || a.resource.localeCompare(b.resource));
  }

  /** Commands whose resource the recorder cannot tell (e.g. PartiQL): each one is a gap in an audit. */
  unmapped(): string[] {
    return [...this.unknown];
  }

  reset(): void {
    this.counts.clear();
    this.unknown.clear();
  }

  private record(command: string, input: unknown): void {
    const calls = callsOf(command, input);
    if (!calls) this.unknown.add(`${command} ${JSON.stringify(input).slice(0, 200)}`);
    for (const call of calls ?? []) {
      const key = `${call.action} ${call.resource}`;
      const seen = this.counts.get(key) ?? { ...call, count: 0 };
      seen.count++;
      this.counts.set(key, seen);
    }
  }
}
