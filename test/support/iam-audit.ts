import type { DynamoDbCall, RecordedCall } from './dynamodb-recorder.js';
import type { PolicyStatement } from './messaging-stack.js';

/*
 * The IAM audit compares two lists of DynamoDB (action, resource) pairs: what a role's policy grants
 * (read from the synthesized template) and what the role's code was seen sending (the recorder).
 * Resources are named relative to the messages table, the same way on both sides:
 *   `table`                 the table              (template: Fn::GetAtt [Table, Arn];    recorded: table/{name})
 *   `table/index/{index}`   one of its indexes     (template: Fn::Join [Arn, /index/…];   recorded: table/{name}/index/{index})
 *   `table/stream`          its stream             (template: Fn::GetAtt [Table, StreamArn])
 *   `*`                     any resource
 * Grants may use IAM's wildcards (`*`, `?`) in actions (matched ignoring case, as IAM does) and in
 * resources (`table/index/*`).
 */

export interface Grant {
  action: string;
  resource: string;
}

export interface DynamoDbPolicy {
  allow: Grant[];
  deny: Grant[];
}

/**
 * What the Lambda service itself calls with the projector's role to read the stream for the event
 * source mapping (it polls the shards and hands the records to the handler): the handler's code
 * never makes these calls, so the recorder cannot see them. They are left out of the projector's
 * audit on the stream (and `*` for ListStreams, which has no resource-level permission);
 * `infra/messaging-stack.spec.ts` asserts them.
 */
export const EVENT_SOURCE_STREAM_READS = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];

export class UnauditablePolicyError extends Error {}

/** The template's way of naming the table's ARN, its index's and its stream's → the audit's names. */
export function resourceName(resource: unknown, tableLogicalId: string): string {
  if (resource === '*') return '*';
  const getAtt = (value: unknown, attribute: string) => {
    const path = (value as { 'Fn::GetAtt'?: unknown } | null)?.['Fn::GetAtt'];
    return Array.isArray(path) && path[0] === tableLogicalId && path[1] === attribute;
  };
  if (getAtt(resource, 'Arn')) return 'table';
  if (getAtt(resource, 'StreamArn')) return 'table/stream';
  const join = (resource as { 'Fn::Join'?: unknown } | null)?.['Fn::Join'];
  if (
    Array.isArray(join) &&
    join[0] === '' &&
    Array.isArray(join[1]) &&
    join[1].length === 2 &&
    getAtt(join[1][0], 'Arn') &&
    typeof join[1][1] === 'string'
  ) {
    return `table${join[1][1]}`;
  }
  throw new UnauditablePolicyError(`a DynamoDB grant names a resource the audit cannot read: ${JSON.stringify(resource)}`);
}

/** The DynamoDB part of a role's statements, as (action, resource) pairs; refuses what it cannot evaluate. */
export function dynamoDbPolicyOf(
  statements: PolicyStatement[],
  tableLogicalId: string,
  options: { eventSourceStreamReads?: boolean } = {},
): DynamoDbPolicy {
  const policy: DynamoDbPolicy = { allow: [], deny: [] };
  for (const statement of statements) {
    if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
      throw new UnauditablePolicyError(
        `a statement with NotAction or NotResource may grant DynamoDB actions: ${JSON.stringify(statement)}`,
      );
    }
    const actions = [statement.Action ?? []]
      .flat()
      .filter((action) => matches(action, 'dynamodb:x', true) || action.toLowerCase().startsWith('dynamodb:'));
    if (actions.length === 0) continue;
    if (statement.Condition !== undefined) {
      throw new UnauditablePolicyError(`the audit does not evaluate conditions: ${JSON.stringify(statement)}`);
    }
    const resources = [statement.Resource ?? []].flat().map((resource) => resourceName(resource, tableLogicalId));
    for (const action of actions) {
      for (const resource of resources) {
        if (
          options.eventSourceStreamReads &&
          EVENT_SOURCE_STREAM_READS.includes(action) &&
          (resource === 'table/stream' || resource === '*')
        )
          continue;
        (statement.Effect === 'Deny' ? policy.deny : policy.allow).push({ action, resource });
      }
    }
  }
  return policy;
}

/** A recorded resource (`table/{name}…`) → the audit's name; another table's stays recognisably foreign. */
export function auditedCall<T extends DynamoDbCall>(call: T, tableName: string): T {
  const ours = `table/${tableName}`;
  if (call.resource === '*') return call;
  if (call.resource === ours) return { ...call, resource: 'table' };
  if (call.resource.startsWith(`${ours}/`)) return { ...call, resource: `table${call.resource.slice(ours.length)}` };
  return { ...call, resource: `another table: ${call.resource}` };
}

export interface AuditResult {
  /** Calls the code made that the policy does not allow (each would be AccessDenied on AWS). */
  denied: string[];
  /** Grants no recorded call used. */
  unused: Grant[];
}

/** Every recorded call must be allowed (and not denied); every allowed pair must have been used. */
export function audit(calls: RecordedCall[], policy: DynamoDbPolicy): AuditResult {
  const covers = (grant: Grant, call: DynamoDbCall) =>
    matches(grant.action, call.action, true) && matches(grant.resource, call.resource, false);
  return {
    denied: calls
      .filter((call) => !policy.allow.some((grant) => covers(grant, call)) || policy.deny.some((grant) => covers(grant, call)))
      .map((call) => `${call.action} on ${call.resource} (${call.count} calls)`),
    unused: policy.allow.filter((grant) => !calls.some((call) => covers(grant, call))),
  };
}

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
export function matches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, ignoreCase ? 'i' : '').test(value);
}
