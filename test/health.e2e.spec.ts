import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import request from 'supertest';
import { createApp } from '../src/app.factory.js';
import { loadConfig } from '../src/config/config.js';
import { createMessageTable, dropTable, dynamoClient, startDynalite } from './support/dynamodb.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

let app: INestApplication;
let db: TestDatabase;
let stopDynalite: () => Promise<void>;
let client: DynamoDBClient;
let table: string;

beforeAll(async () => {
  const dynamo = await startDynalite();
  stopDynalite = dynamo.stop;
  client = dynamoClient(dynamo.endpoint);
  table = await createMessageTable(client);
  db = await createTestDatabase();
  const config = loadConfig({ APP_ENV: 'test', DYNAMODB_ENDPOINT: dynamo.endpoint, DDB_MESSAGE_TABLE: table, DATABASE_URL: db.url });
  app = await createApp(config, { logger: false });
  await app.init();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
  await dropTable(client, table);
  client.destroy();
  await stopDynalite();
});

describe('GET /api/health', () => {
  it('answers 200 with DynamoDB and Postgres up', async () => {
    const res = await request(app.getHttpServer()).get('/api/health');

    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.dynamodb.status).toBe('up');
    expect(res.body.info.postgres.status).toBe('up');
  });
});
