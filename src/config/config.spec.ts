import { describe, expect, it } from '@jest/globals';
import { AppModule } from '../app.module.js';
import { ConfigError, isLocalEndpoint, loadConfig, loadLocalStackConfig, LOCAL_FRONTEND_ORIGIN } from './config.js';

describe('loadConfig', () => {
  it('needs nothing: without an endpoint it talks to AWS, with nothing local switched on', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      appEnv: 'aws',
      port: 4567,
      aws: { region: 'us-east-1' },
      dynamodb: { endpoint: undefined, table: 'cruddur-messages' },
      streamEmulator: false,
      corsOrigins: [],
    });
    expect(config.cursorSecret).toBeUndefined();
  });

  it('takes the local defaults without APP_ENV when the DynamoDB endpoint is a local one', () => {
    const config = loadConfig({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' });

    expect(config).toMatchObject({ appEnv: 'local', streamEmulator: true, corsOrigins: [LOCAL_FRONTEND_ORIGIN] });
    expect(config.cursorSecret).toEqual(expect.any(String));
  });

  it.each([
    'http://localhost:8000',
    'http://dynamodb:8000',
    'http://[::1]:8000',
    'https://dynamodb.internal.example.com',
    'http://amazonaws.com.localtest.me:8000',
  ])('counts %s (not an AWS host) as a local endpoint', (endpoint) => {
    expect(isLocalEndpoint(endpoint)).toBe(true);
    expect(loadConfig({ DYNAMODB_ENDPOINT: endpoint })).toMatchObject({ appEnv: 'local', streamEmulator: true });
    expect(loadConfig({ AWS_ENDPOINT_URL: endpoint })).toMatchObject({ appEnv: 'local', streamEmulator: true });
  });

  it.each([
    'https://dynamodb.us-east-1.amazonaws.com',
    'https://DYNAMODB.US-EAST-1.AMAZONAWS.COM',
    'https://dynamodb.us-east-1.amazonaws.com.',
    'https://dynamodb-fips.us-gov-west-1.amazonaws.com',
    'https://123456789012.ddb.us-east-1.amazonaws.com',
    'https://vpce-0a1b2c3d4e5f-abcdefgh.dynamodb.us-east-1.vpce.amazonaws.com',
    'https://dynamodb.cn-north-1.amazonaws.com.cn',
    'https://dynamodb.us-east-1.api.aws',
  ])('treats %s as AWS: without APP_ENV nothing local switches on', (endpoint) => {
    for (const config of [loadConfig({ DYNAMODB_ENDPOINT: endpoint }), loadConfig({ AWS_ENDPOINT_URL: endpoint })]) {
      expect(config).toMatchObject({ appEnv: 'aws', streamEmulator: false, corsOrigins: [] });
      expect(config.cursorSecret).toBeUndefined();
    }
    expect(isLocalEndpoint(endpoint)).toBe(false);
  });

  it('never defaults to the stream emulator or the fixed cursor secret against AWS, whatever APP_ENV says', () => {
    for (const env of [
      { APP_ENV: 'local' },
      { APP_ENV: 'test' },
      { APP_ENV: 'local', DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com' },
    ]) {
      const config = loadConfig(env);

      expect(config.streamEmulator).toBe(false);
      expect(config.cursorSecret).toBeUndefined();
    }
    expect(loadConfig({ APP_ENV: 'local', CURSOR_SECRET: 'a-secret-of-enough-length' }).cursorSecret).toBe('a-secret-of-enough-length');
  });

  it.each([
    [{}],
    [{ APP_ENV: 'local' }],
    [{ APP_ENV: 'test', DYNAMODB_ENDPOINT: 'https://dynamodb.eu-west-1.amazonaws.com' }],
    [{ AWS_ENDPOINT_URL: 'https://dynamodb.us-east-1.api.aws' }],
  ])('refuses STREAM_EMULATOR=on against AWS with one line (%j)', (env) => {
    let error: unknown;
    try {
      loadConfig({ ...env, STREAM_EMULATOR: 'on' });
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^Invalid configuration: STREAM_EMULATOR=on needs a local DynamoDB endpoint/);
    expect((error as Error).message).not.toContain('\n');
  });

  it('lets STREAM_EMULATOR turn the emulator off, or on for a local endpoint under APP_ENV=aws', () => {
    expect(loadConfig({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', STREAM_EMULATOR: 'off' }).streamEmulator).toBe(false);
    expect(loadConfig({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', APP_ENV: 'aws', STREAM_EMULATOR: 'on' }).streamEmulator).toBe(true);
  });

  it.each([['local'], ['localhost'], ['us-east-1'], ['ddblocal'], ['eu-local-1']])(
    'accepts AWS_REGION=%s (and AWS_DEFAULT_REGION) when a local DynamoDB endpoint is configured',
    (region) => {
      expect(loadConfig({ DYNAMODB_ENDPOINT: 'http://localhost:8000', AWS_REGION: region }).aws.region).toBe(region);
      expect(loadConfig({ AWS_ENDPOINT_URL: 'http://localhost:8000', AWS_DEFAULT_REGION: region }).aws.region).toBe(region);
    },
  );

  it.each([
    [{ AWS_REGION: 'local' }],
    [{ AWS_REGION: 'localhost', DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com' }],
    [{ AWS_DEFAULT_REGION: 'local' }],
    [{ AWS_REGION: 'local_1', DYNAMODB_ENDPOINT: 'http://localhost:8000' }],
    [{ AWS_REGION: 'my region', DYNAMODB_ENDPOINT: 'http://localhost:8000' }],
  ])('still refuses a region AWS (or the SDK) would not take with one line (%j)', (env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^Invalid configuration: AWS_(DEFAULT_)?REGION /);
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

  it('turns the stream emulator off and drops the local cursor secret for APP_ENV=aws, also on a local endpoint', () => {
    const config = loadConfig({ APP_ENV: 'aws', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' });

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

  it('caches users 60 s by default; USER_CACHE_SECONDS sets it, 0 turns the cache off', () => {
    expect(loadConfig({}).userCacheSeconds).toBe(60);
    expect(loadConfig({ USER_CACHE_SECONDS: '5' }).userCacheSeconds).toBe(5);
    expect(loadConfig({ USER_CACHE_SECONDS: '0' }).userCacheSeconds).toBe(0);
    expect(() => loadConfig({ USER_CACHE_SECONDS: '-1' })).toThrow(/^Invalid configuration: USER_CACHE_SECONDS /);
    expect(() => loadConfig({ USER_CACHE_SECONDS: '1.5' })).toThrow(/^Invalid configuration: USER_CACHE_SECONDS /);
  });

  it('bounds live streams by default; LIVE_* set the heartbeat and the bounds, each at least 1', () => {
    expect(loadConfig({}).live).toEqual({ heartbeatSeconds: 15, maxStreamsPerUser: 5, maxStreams: 5_000, bufferEvents: 256 });
    expect(
      loadConfig({ LIVE_HEARTBEAT_SECONDS: '1', LIVE_MAX_STREAMS_PER_USER: '2', LIVE_MAX_STREAMS: '3', LIVE_BUFFER_EVENTS: '4' }).live,
    ).toEqual({ heartbeatSeconds: 1, maxStreamsPerUser: 2, maxStreams: 3, bufferEvents: 4 });
    for (const name of ['LIVE_HEARTBEAT_SECONDS', 'LIVE_MAX_STREAMS_PER_USER', 'LIVE_MAX_STREAMS', 'LIVE_BUFFER_EVENTS']) {
      expect(() => loadConfig({ [name]: '0' })).toThrow(new RegExp(`^Invalid configuration: ${name} must be at least 1`));
      expect(() => loadConfig({ [name]: 'many' })).toThrow(new RegExp(`^Invalid configuration: ${name} `));
    }
    // A heartbeat must come before the load balancer's 60 s idle timeout closes a quiet stream.
    expect(() => loadConfig({ LIVE_HEARTBEAT_SECONDS: '60' })).toThrow(/^Invalid configuration: LIVE_HEARTBEAT_SECONDS must be at most 50/);
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ PORT: '', DDB_MESSAGE_TABLE: '  ' })).toMatchObject({ port: 4567, dynamodb: { table: 'cruddur-messages' } });
  });
});

describe('loadLocalStackConfig', () => {
  it('takes the local defaults: the stack replaces any DynamoDB endpoint by its own emulator', () => {
    for (const env of [{}, { DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com' }, { AWS_REGION: 'local' }]) {
      const config = loadLocalStackConfig(env);

      expect(config).toMatchObject({ appEnv: 'local', streamEmulator: true, corsOrigins: [LOCAL_FRONTEND_ORIGIN] });
      expect(isLocalEndpoint(config.dynamodb.endpoint)).toBe(true);
      expect(config.cursorSecret).toEqual(expect.any(String));
    }
  });

  it('keeps what the environment sets explicitly', () => {
    expect(loadLocalStackConfig({ APP_ENV: 'test', STREAM_EMULATOR: 'off', LOCAL_DYNAMODB_PORT: '8100' })).toMatchObject({
      appEnv: 'test',
      streamEmulator: false,
      corsOrigins: [],
      dynamodb: { endpoint: 'http://127.0.0.1:8100' },
      local: { dynamodbPort: 8100 },
    });
  });
});

describe('the API with the configuration', () => {
  it('refuses to start without CURSOR_SECRET against AWS, whatever APP_ENV says', () => {
    const database = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/db' };

    for (const env of [{ APP_ENV: 'local' }, { APP_ENV: 'test', DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com' }, {}]) {
      expect(() => AppModule.forRoot(loadConfig({ ...database, ...env }))).toThrow(
        new ConfigError('Invalid configuration: CURSOR_SECRET is required unless DynamoDB is on a local endpoint (DYNAMODB_ENDPOINT)'),
      );
    }
    expect(() => AppModule.forRoot(loadConfig({ ...database, DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }))).not.toThrow();
  });

  it('listens on the loopback only where the emulator is trusted, on every interface for AWS, or where HOST says', () => {
    expect(loadConfig({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }).host).toBe('127.0.0.1');
    expect(loadConfig({ APP_ENV: 'test', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }).host).toBe('127.0.0.1');
    expect(loadConfig({}).host).toBe('0.0.0.0');
    expect(loadConfig({ APP_ENV: 'aws' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(() => loadConfig({ HOST: 'everywhere' })).toThrow(/^Invalid configuration: HOST must be an IP address/);
  });
});
