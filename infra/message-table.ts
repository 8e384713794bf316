import type { CreateTableCommandInput, KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { RemovalPolicy } from 'aws-cdk-lib/core';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { messageTableDefinition } from '../src/dynamodb/table.definition.js';
import type { Stage } from './stage-config.js';

export interface MessageTableProps {
  tableName: string;
  stage: Stage;
}

/**
 * The messages table, translated from the shared CreateTable definition (the one `ddb:schema-load`
 * and the local stack use), so keys, index and stream cannot drift from what the code expects.
 */
export function createMessageTable(scope: Construct, id: string, props: MessageTableProps): dynamodb.Table {
  const definition = messageTableDefinition(props.tableName, { mode: 'on-demand' });
  const { partitionKey, sortKey } = keysOf(definition, definition.KeySchema);
  const prod = props.stage === 'prod';

  const table = new dynamodb.Table(scope, id, {
    tableName: definition.TableName,
    partitionKey,
    sortKey,
    billingMode: definition.BillingMode === 'PAY_PER_REQUEST' ? dynamodb.BillingMode.PAY_PER_REQUEST : dynamodb.BillingMode.PROVISIONED,
    stream: streamViewType(definition),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // Names the hot partition keys when requests are throttled (a busy conversation or user).
    contributorInsightsSpecification: { enabled: true, mode: dynamodb.ContributorInsightsMode.THROTTLED_KEYS },
    deletionProtection: prod,
    removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });

  for (const index of definition.GlobalSecondaryIndexes ?? []) {
    if (index.Projection?.ProjectionType !== 'ALL') throw new Error(`index ${index.IndexName}: only projection ALL is translated`);
    table.addGlobalSecondaryIndex({
      indexName: index.IndexName!,
      ...keysOf(definition, index.KeySchema),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}

const ATTRIBUTE_TYPES: Record<string, dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
};

function keysOf(definition: CreateTableCommandInput, keySchema: KeySchemaElement[] | undefined) {
  const attribute = (keyType: 'HASH' | 'RANGE'): dynamodb.Attribute | undefined => {
    const name = keySchema?.find((key) => key.KeyType === keyType)?.AttributeName;
    if (name === undefined) return undefined;
    const type = definition.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
    if (type === undefined || !(type in ATTRIBUTE_TYPES)) throw new Error(`key attribute ${name} has no attribute definition`);
    return { name, type: ATTRIBUTE_TYPES[type] };
  };
  const partitionKey = attribute('HASH');
  if (!partitionKey) throw new Error('the table definition has a key schema without a HASH key');
  return { partitionKey, sortKey: attribute('RANGE') };
}

function streamViewType(definition: CreateTableCommandInput): dynamodb.StreamViewType | undefined {
  const spec = definition.StreamSpecification;
  if (!spec?.StreamEnabled) return undefined;
  const viewType = Object.values(dynamodb.StreamViewType).find((v) => v === spec.StreamViewType);
  if (!viewType) throw new Error(`unknown stream view type ${spec.StreamViewType}`);
  return viewType;
}
