import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dynamoClient, useTestTable } from './dynamodb.js';
import { Lockstep } from './lockstep.js';

const require = createRequire(import.meta.url);
const db = useTestTable();
let client: DynamoDBClient;
let lockstep: Lockstep;

beforeAll(() => {
  client = dynamoClient(db.endpoint);
  lockstep = new Lockstep().attach(client);
});

afterAll(() => client?.destroy());

const key = (pk: string, sk = 's') => ({ pk: { S: pk }, sk: { S: sk } });

/** Reads the item, and creates it when it was not there (a check-then-act race). */
async function createIfAbsent(pk: string): Promise<'created' | 'lost the race' | 'found it'> {
  const { Item } = await client.send(new GetItemCommand({ TableName: db.table, Key: key(pk), ConsistentRead: true }));
  if (Item) return 'found it';
  try {
    await client.send(new PutItemCommand({ TableName: db.table, Item: key(pk), ConditionExpression: 'attribute_not_exists(pk)' }));
    return 'created';
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    return 'lost the race';
  }
}

describe('lockstep', () => {
  it('makes every lane read before any lane writes, however late a lane starts: a check-then-act race is lost every time', async () => {
    for (let run = 0; run < 5; run++) {
      const pk = `GRP#${randomUUID()}`;

      const outcomes = await lockstep.run(3, async (lane) => {
        // A late start (local I/O first, as a cold container would): without lockstep, lane 0 is done before lane 2 reads.
        if (lane === 2) await readFile(require.resolve('typescript/lib/typescript.js'));
        return createIfAbsent(pk);
      });

      expect(outcomes.sort()).toEqual(['created', 'lost the race', 'lost the race']);
    }
  });

  it('goes on when lanes send different numbers of commands, some in parallel, and finish at different times', async () => {
    const pk = `GRP#${randomUUID()}`;

    const done = await lockstep.run(3, async (lane) => {
      if (lane === 0) return 0;
      const sks = Array.from({ length: lane * 3 }, (_, i) => `${lane}-${i}`);
      await Promise.all(sks.map((sk) => client.send(new PutItemCommand({ TableName: db.table, Item: key(pk, sk) }))));
      for (const sk of sks) await client.send(new GetItemCommand({ TableName: db.table, Key: key(pk, sk) }));
      return sks.length;
    });

    expect(done).toEqual([0, 3, 6]);
  });

  it('leaves commands sent outside a run alone', async () => {
    const rounds = lockstep.rounds;

    expect(await createIfAbsent(`GRP#${randomUUID()}`)).toBe('created');
    expect(lockstep.rounds).toBe(rounds);
  });
});
