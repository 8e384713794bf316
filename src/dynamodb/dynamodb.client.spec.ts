import { describe, expect, it } from '@jest/globals';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { useTestTable } from '../../test/support/dynamodb.js';
import { resetMiddlewareCache } from './dynamodb.client.js';

const db = useTestTable();

const query = () =>
  new QueryCommand({
    TableName: db.table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': { S: `MSG#${randomUUID()}` } },
  });

describe('createDynamoDbClient', () => {
  it('resolves a command class’s middleware once; resetMiddlewareCache makes a later middleware run', async () => {
    await db.client.send(query());
    let seen = 0;
    db.client.middlewareStack.add(
      (next) => (args) => {
        seen++;
        return next(args);
      },
      { step: 'initialize', name: 'countQueries' },
    );
    try {
      await db.client.send(query());
      // The cache is what saves the CPU: were it gone (an SDK change), this would count 1.
      expect(seen).toBe(0);

      resetMiddlewareCache(db.client);
      await db.client.send(query());
      // Were the SDK to keep its cache elsewhere, the reset would do nothing and this would stay 0.
      expect(seen).toBe(1);
    } finally {
      db.client.middlewareStack.remove('countQueries');
      resetMiddlewareCache(db.client);
    }
  });

  it('leaves ElectroDB’s sends (which pass options) uncached: each runs the stack as it is now', async () => {
    const group = randomUUID();
    await db.repository.listAllMessages(group);
    let seen = 0;
    db.client.middlewareStack.add(
      (next) => (args) => {
        seen++;
        return next(args);
      },
      { step: 'initialize', name: 'countElectroDb' },
    );
    try {
      await db.repository.listAllMessages(group);
      expect(seen).toBe(1);
    } finally {
      db.client.middlewareStack.remove('countElectroDb');
    }
  });
});
