import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startApiStack, type ApiStack } from './support/api-stack.js';

let stack: ApiStack;

beforeAll(async () => {
  stack = await startApiStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe('GET /api/health', () => {
  it('answers 200 with DynamoDB and Postgres up, without a token', async () => {
    const res = await request(stack.app.getHttpServer()).get('/api/health');

    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.dynamodb.status).toBe('up');
    expect(res.body.info.postgres.status).toBe('up');
  });
});

describe("GET /api/health/live (liveness: the load balancer's and the image's health check)", () => {
  it("answers 200 in Terminus's form, checking no dependency, without a token", async () => {
    const res = await request(stack.app.getHttpServer()).get('/api/health/live');

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
  });
});

describe('GET /api/health/ready (readiness, the deep check)', () => {
  it('answers 200 with DynamoDB and Postgres up, like /api/health', async () => {
    const res = await request(stack.app.getHttpServer()).get('/api/health/ready');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { dynamodb: { status: 'up' }, postgres: { status: 'up' } } });
  });

  it('tells an anonymous caller what is up, not the names of our resources', async () => {
    const res = await request(stack.app.getHttpServer()).get('/api/health/ready');

    expect(JSON.stringify(res.body)).not.toContain(stack.env.DDB_MESSAGE_TABLE);
  });
});

describe('GET /api/docs', () => {
  it('serves the OpenAPI document with every route and the bearer scheme', async () => {
    const res = await request(stack.app.getHttpServer()).get('/api/docs/openapi.json');

    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths).sort()).toEqual(
      [
        '/api/events',
        '/api/events/ticket',
        '/api/health',
        '/api/health/live',
        '/api/health/ready',
        '/api/message_groups',
        '/api/message_groups/{message_group_uuid}/read',
        '/api/messages',
        '/api/messages/{message_group_uuid}',
        '/api/users/@{handle}/short',
      ].sort(),
    );
    expect(res.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(res.body.paths['/api/messages'].post.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '404', '413', '422', '503']),
    );
    // The live stream is documented as an event stream, with its refusals.
    const events = res.body.paths['/api/events'].get;
    expect(Object.keys(events.responses['200'].content)).toEqual(['text/event-stream']);
    expect(Object.keys(events.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '429', '503']));
    expect(events.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['ticket', 'last_event_id']));
  });

  it('serves Swagger UI', async () => {
    const res = await request(stack.app.getHttpServer()).get('/api/docs/');

    expect(res.status).toBe(200);
    expect(res.text).toContain('swagger');
  });
});
