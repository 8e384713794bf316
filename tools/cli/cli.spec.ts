import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/config.js';
import { scriptConfig, type LocalStackInfo } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cruddur-cli-'));
/** No `npm run local` running: its stack.json is absent. */
const NO_STACK = join(dir, 'absent.json');
const STACK_FILE = join(dir, 'stack.json');
const stack: LocalStackInfo = {
  apiUrl: 'http://127.0.0.1:4567',
  dynamodbEndpoint: 'http://127.0.0.1:18000',
  table: 'stack-table',
  cognitoEndpoint: 'http://127.0.0.1:19229',
  userPoolId: 'local_abc',
  userPoolClientId: 'client1',
  databaseUrl: 'postgres://postgres@127.0.0.1:5433/cruddur',
};
writeFileSync(STACK_FILE, JSON.stringify(stack));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scriptConfig with prod (AWS)', () => {
  it('never runs the stream emulator: without APP_ENV, with APP_ENV=local, even on a local endpoint', () => {
    for (const env of [
      {},
      { APP_ENV: 'local' },
      { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' },
      { APP_ENV: 'test', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' },
    ]) {
      expect(scriptConfig(true, env, STACK_FILE).streamEmulator).toBe(false);
    }
  });

  it('talks to AWS without APP_ENV: no emulator endpoints, no fixed cursor secret, nothing from stack.json', () => {
    const config = scriptConfig(true, {}, STACK_FILE);

    expect(config).toMatchObject({
      appEnv: 'aws',
      dynamodb: { endpoint: undefined, table: 'cruddur-messages' },
      cognito: { endpoint: undefined },
    });
    expect(config.cursorSecret).toBeUndefined();
  });

  it('refuses STREAM_EMULATOR=on against AWS with one line', () => {
    expect(() => scriptConfig(true, { STREAM_EMULATOR: 'on' }, STACK_FILE)).toThrow(ConfigError);
  });
});

describe('scriptConfig without prod', () => {
  it('uses the local stack and takes its local defaults without APP_ENV', () => {
    const config = scriptConfig(false, {}, STACK_FILE);

    expect(config).toMatchObject({
      appEnv: 'local',
      streamEmulator: true,
      dynamodb: { endpoint: stack.dynamodbEndpoint, table: stack.table },
      databaseUrl: stack.databaseUrl,
      cognito: { userPoolId: stack.userPoolId, clientId: stack.userPoolClientId, endpoint: stack.cognitoEndpoint },
    });
  });

  it('falls back to DynamoDB on 127.0.0.1:8000 and Cognito on :9229 when no stack runs', () => {
    expect(scriptConfig(false, {}, NO_STACK)).toMatchObject({
      appEnv: 'local',
      streamEmulator: true,
      dynamodb: { endpoint: 'http://127.0.0.1:8000' },
      cognito: { endpoint: 'http://127.0.0.1:9229' },
    });
  });

  it('switches nothing local on when the environment points DynamoDB at AWS', () => {
    const config = scriptConfig(false, { DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com' }, STACK_FILE);

    expect(config).toMatchObject({
      appEnv: 'aws',
      streamEmulator: false,
      dynamodb: { endpoint: 'https://dynamodb.us-east-1.amazonaws.com' },
    });
    expect(config.cursorSecret).toBeUndefined();
  });

  it('accepts a region such as "local" for DynamoDB Local', () => {
    expect(scriptConfig(false, { AWS_REGION: 'local' }, NO_STACK).aws.region).toBe('local');
    expect(scriptConfig(false, { AWS_REGION: 'localhost', DYNAMODB_ENDPOINT: 'http://localhost:8000' }, NO_STACK).aws.region).toBe(
      'localhost',
    );
  });
});
