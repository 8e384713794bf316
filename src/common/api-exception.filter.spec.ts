import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Logger, type ArgumentsHost } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDynamoDbClient } from '../dynamodb/dynamodb.client.js';
import { ApiExceptionFilter } from './api-exception.filter.js';

/** What DynamoDB answers a call its caller's policy does not allow (status, headers and body as AWS sends them). */
const DENIED =
  'User: arn:aws:sts::123456789012:assumed-role/ApiTaskRole/0123456789abcdef is not authorized to perform: dynamodb:GetItem ' +
  'on resource: arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages because no identity-based policy allows the dynamodb:GetItem action';

let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume().on('end', () => {
      res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': 'DENIED0REQUEST0ID' });
      res.end(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', Message: DENIED }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

afterEach(() => {
  jest.restoreAllMocks();
});

/** Runs the filter on an exception; returns the answer and the error lines it logged. */
function answer(exception: unknown) {
  const errors: string[] = [];
  jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => void errors.push(String(message)));
  const response = { statusCode: 0, body: undefined as unknown, headers: {} as Record<string, string> };
  // The filter's part of a Fastify reply.
  const res = {
    header(name: string, value: string) {
      response.headers[name] = value;
      return this;
    },
    status(code: number) {
      response.statusCode = code;
      return this;
    },
    send: (body: unknown) => void (response.body = body),
  };
  new ApiExceptionFilter().catch(exception, { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost);
  return { ...response, errors };
}

describe('ApiExceptionFilter and AWS refusing a call (AccessDenied)', () => {
  it('answers 500 (a deployment fault, which the 5xx alarm sees) and logs a line naming the action and the request', async () => {
    const client = createDynamoDbClient({ aws: { region: 'us-east-1' }, dynamodb: { endpoint, table: 'cruddur-messages' } });
    const denied = await client
      .send(new GetItemCommand({ TableName: 'cruddur-messages', Key: { pk: { S: 'MSG#g' }, sk: { S: 's' } } }))
      .catch((e: unknown) => e);
    client.destroy();
    expect((denied as Error).name).toBe('AccessDeniedException');

    const { statusCode, body, headers, errors } = answer(denied);

    expect(statusCode).toBe(500);
    expect(body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' });
    expect(headers['Retry-After']).toBeUndefined();
    expect(errors).toEqual([expect.stringContaining("AWS refused a call: the deployment's IAM policy lacks a permission")]);
    expect(errors[0]).toContain(
      'is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages',
    );
    expect(errors[0]).toContain('DENIED0REQUEST0ID');
    // The client gets nothing of it.
    expect(JSON.stringify(body)).not.toMatch(/dynamodb|arn:aws/);
  });
});
