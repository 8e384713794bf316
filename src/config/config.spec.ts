import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('needs nothing for the local defaults', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      appEnv: 'local',
      port: 4567,
      aws: { region: 'us-east-1' },
      dynamodb: { endpoint: undefined, table: 'cruddur-messages' },
      streamEmulator: true,
    });
    expect(config.cursorSecret).toEqual(expect.any(String));
  });

  it('reads the aliases: AWS_ENDPOINT_URL for DynamoDB, CONNECTION_URL for Postgres', () => {
    const config = loadConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:8000', CONNECTION_URL: 'postgresql://u@h:5432/db' });

    expect(config.dynamodb.endpoint).toBe('http://127.0.0.1:8000');
    expect(config.databaseUrl).toBe('postgresql://u@h:5432/db');
  });

  it('never takes the Cognito endpoint from AWS_ENDPOINT_URL', () => {
    expect(loadConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:8000' }).cognito.endpoint).toBeUndefined();
  });

  it('derives the emulator issuer from the Cognito endpoint and pool', () => {
    const config = loadConfig({ COGNITO_ENDPOINT: 'http://127.0.0.1:9229/', AWS_COGNITO_USER_POOL_ID: 'local_abc123' });

    expect(config.cognito.issuer).toBe('http://127.0.0.1:9229/local_abc123');
  });

  it('turns the stream emulator off and drops the local cursor secret for APP_ENV=aws', () => {
    const config = loadConfig({ APP_ENV: 'aws' });

    expect(config.streamEmulator).toBe(false);
    expect(config.cursorSecret).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['APP_ENV', 'production'],
    ['AWS_REGION', 'mars'],
    ['DYNAMODB_ENDPOINT', 'localhost:8000'],
    ['DDB_MESSAGE_TABLE', 'ab'],
    ['DATABASE_URL', 'mysql://root@localhost/db'],
    ['AWS_COGNITO_USER_POOL_ID', 'nounderscore'],
    ['CURSOR_SECRET', 'short'],
    ['STREAM_EMULATOR', 'yes'],
    ['LOCAL_POSTGRES_PORT', '-1'],
  ])('rejects %s=%j with one line naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${name} `));
    expect(message).not.toContain('\n');
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ PORT: '', DDB_MESSAGE_TABLE: '  ' })).toMatchObject({ port: 4567, dynamodb: { table: 'cruddur-messages' } });
  });
});
