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

/** Counts the sends that run the client's middleware stack as it is now (a middleware added after its first sends). */
function countSends(name: string) {
  let seen = 0;
  db.client.middlewareStack.add(
    (next) => (args) => {
      seen++;
      return next(args);
    },
    { step: 'initialize', name },
  );
  return { seen: () => seen, remove: () => db.client.middlewareStack.remove(name) };
}

describe('createDynamoDbClient', () => {
  it('resolves a command class’s middleware once; resetMiddlewareCache makes a later middleware run', async () => {
    await db.client.send(query());
    const queries = countSends('countQueries');
    try {
      await db.client.send(query());
      // The cache is what saves the CPU: were it gone (an SDK change), this would count 1.
      expect(queries.seen()).toBe(0);

      resetMiddlewareCache(db.client);
      await db.client.send(query());
      // Were the SDK to keep its cache elsewhere, the reset would do nothing and this would stay 0.
      expect(queries.seen()).toBe(1);
    } finally {
      queries.remove();
      resetMiddlewareCache(db.client);
    }
  });

  it('leaves ElectroDB’s sends (which pass options) uncached: each runs the stack as it is now', async () => {
    const group = randomUUID();
    await db.repository.listAllMessages(group);
    const sends = countSends('countElectroDb');
    try {
      await db.repository.listAllMessages(group);
      expect(sends.seen()).toBe(1);
    } finally {
      sends.remove();
    }
  });
});
