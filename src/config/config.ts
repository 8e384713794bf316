import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The one typed, validated configuration object. Nothing else in the code base reads
 * `process.env`: the app, the scripts, the local stack and the Lambda all call `loadConfig()`.
 */
export type AppEnv = 'local' | 'test' | 'aws';

export interface AppConfig {
  /**
   * `local` and `test` accept the Cognito emulator's issuer; `aws` only real Cognito. Without
   * APP_ENV: `local` when the DynamoDB endpoint is a local one (`isLocalEndpoint`), else `aws`.
   */
  appEnv: AppEnv;
  port: number;
  /**
   * The address the API listens on: every interface for `aws`; only the loopback otherwise, where
   * the Cognito emulator's public signing key is trusted (a container sets HOST=0.0.0.0 and
   * publishes the port on the host's loopback).
   */
  host: string;
  aws: { region: string };
  dynamodb: {
    /** Custom endpoint (dynalite, DynamoDB Local); undefined = AWS. */
    endpoint?: string;
    table: string;
  };
  /** Postgres connection string; undefined until the local stack or the environment gives one. */
  databaseUrl?: string;
  cognito: {
    userPoolId?: string;
    clientId?: string;
    /** Cognito emulator endpoint; undefined = AWS's own. Never taken from AWS_ENDPOINT_URL. */
    endpoint?: string;
    /**
     * The emulator's token issuer (`{issuer domain}/{pool}`), trusted only outside `aws`; defaults to
     * `{COGNITO_ENDPOINT}/{pool}`. Against AWS the issuer always comes from the pool id.
     */
    issuer?: string;
  };
  /**
   * Secret that signs paging cursors. Without CURSOR_SECRET a fixed, public one is used only with a
   * local DynamoDB endpoint (and `appEnv` not `aws`); otherwise none, and the API refuses to start.
   */
  cursorSecret?: string;
  /**
   * Run the in-process change-capture emulator (the local stand-in for DynamoDB Streams → Lambda).
   * Only ever with a local DynamoDB endpoint: on by default there for `local` and `test`; against
   * AWS the table's stream drives the Lambda, and STREAM_EMULATOR=on is refused.
   */
  streamEmulator: boolean;
  /** Ports of the emulators that `npm run local` starts (0 = any free port). */
  local: { dynamodbPort: number; cognitoPort: number; postgresPort: number };
  /** Browser origins allowed to call the API (CORS); empty = no cross-origin access. */
  corsOrigins: string[];
  /**
   * Redis (`redis://…`): shared rate-limit counters, the live-event bus and stream tickets across API
   * tasks (and the projector Lambda); undefined = in-process.
   */
  redisUrl?: string;
  live: LiveLimits;
  /** How many proxies in front of the API to trust for the client's address (X-Forwarded-For). */
  trustProxyHops: number;
  rateLimits: RateLimits;
  /**
   * How long the auth guard keeps a user found by Cognito sub (seconds; 0 = not cached): the bound
   * on how long a task still sees a user removed or renamed in Postgres.
   */
  userCacheSeconds: number;
}

/** Requests allowed per window; 0 turns a limit off. */
export interface RateLimits {
  /** POST /api/messages per user per minute. */
  messagesPerMinute: number;
  /** New conversations (a first message to someone) per user per hour. */
  newConversationsPerHour: number;
  /** Public routes per client address per minute. */
  publicPerMinute: number;
}

/** Live delivery (GET /api/events): its heartbeat and the bounds on streams. */
export interface LiveLimits {
  /** A comment is written to every stream this often (seconds): below every idle timeout on the way. */
  heartbeatSeconds: number;
  /** Open streams per user on one API task. */
  maxStreamsPerUser: number;
  /** Open streams on one API task. */
  maxStreams: number;
  /** Events waiting for a client that does not read: past this it gets `resync` and is closed. */
  bufferEvents: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess(blankToUndefined, schema.optional());

const httpUrl = z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s) URL');
const postgresUrl = z.string().refine((v) => URL.canParse(v) && /^postgres(ql)?:$/.test(new URL(v).protocol), 'must be a postgres:// URL');

const port = z.coerce.number().int().min(0).max(65535);
const count = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a whole number')
  .transform(Number);
const positive = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a whole number')
  .transform(Number)
  .refine((n) => n >= 1, 'must be at least 1');
const redisUrl = z.string().refine((v) => URL.canParse(v) && /^rediss?:$/.test(new URL(v).protocol), 'must be a redis:// or rediss:// URL');
/** A browser origin: scheme, host and port only (what the Origin header carries). */
const origins = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .refine(
    (list) => list.every((o) => URL.canParse(o) && /^https?:$/.test(new URL(o).protocol) && new URL(o).origin === o),
    'must be comma-separated origins such as https://cruddur.example.com',
  );

/** DynamoDB's own naming rule for tables. */
export const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
/** Cognito's id forms (the deployment's CloudFormation parameters check the same). */
export const USER_POOL_ID_PATTERN = /^[\w-]+_[0-9A-Za-z]+$/;
export const CLIENT_ID_PATTERN = /^[\w+]+$/;

const schema = z.object({
  APP_ENV: optional(z.enum(['local', 'test', 'aws'])),
  PORT: optional(port),
  HOST: optional(z.string().refine((v) => isIP(v) !== 0, 'must be an IP address to listen on (0.0.0.0, 127.0.0.1, ::)')),
  // Checked once the endpoint is known (`checkRegion`): DynamoDB Local users set `local`.
  AWS_REGION: optional(z.string()),
  AWS_DEFAULT_REGION: optional(z.string()),
  DYNAMODB_ENDPOINT: optional(httpUrl),
  AWS_ENDPOINT_URL: optional(httpUrl),
  DDB_MESSAGE_TABLE: optional(z.string().regex(TABLE_NAME_PATTERN, '3-255 characters of A-Z a-z 0-9 _ . -')),
  DATABASE_URL: optional(postgresUrl),
  CONNECTION_URL: optional(postgresUrl),
  AWS_COGNITO_USER_POOL_ID: optional(z.string().regex(USER_POOL_ID_PATTERN, 'must look like us-east-1_AbC123 or local_xxx')),
  AWS_COGNITO_USER_POOL_CLIENT_ID: optional(z.string().regex(CLIENT_ID_PATTERN, 'must be a Cognito app client id')),
  COGNITO_ENDPOINT: optional(httpUrl),
  COGNITO_ISSUER: optional(httpUrl),
  CURSOR_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  STREAM_EMULATOR: optional(z.enum(['on', 'off'])),
  LOCAL_DYNAMODB_PORT: optional(port),
  LOCAL_COGNITO_PORT: optional(port),
  LOCAL_POSTGRES_PORT: optional(port),
  CORS_ORIGINS: optional(origins),
  REDIS_URL: optional(redisUrl),
  TRUST_PROXY_HOPS: optional(count),
  RATE_LIMIT_MESSAGES_PER_MINUTE: optional(count),
  RATE_LIMIT_NEW_CONVERSATIONS_PER_HOUR: optional(count),
  RATE_LIMIT_PUBLIC_PER_MINUTE: optional(count),
  USER_CACHE_SECONDS: optional(count),
  LIVE_HEARTBEAT_SECONDS: optional(positive.refine((n) => n <= 50, 'must be at most 50 (below the load balancer idle timeout)')),
  LIVE_MAX_STREAMS_PER_USER: optional(positive),
  LIVE_MAX_STREAMS: optional(positive),
  LIVE_BUFFER_EVENTS: optional(positive),
});

/**
 * Hosts of AWS's own endpoints (regional, FIPS, dual-stack `api.aws`, account-based, VPC interface
 * endpoints, China). Any other configured endpoint is a local one: dynalite, DynamoDB Local, a
 * container such as `http://dynamodb:8000`.
 */
const AWS_ENDPOINT_HOST = /(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/;

/**
 * Whether a DynamoDB endpoint is a local one: configured, and not an AWS host. No endpoint means
 * AWS's own. Local-only behaviour (the stream emulator, the fixed cursor secret, APP_ENV's `local`
 * default, free-form regions) depends on this.
 */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint || !URL.canParse(endpoint)) return false;
  const host = new URL(endpoint).hostname.toLowerCase().replace(/\.$/, '');
  return !AWS_ENDPOINT_HOST.test(host);
}

/** An AWS region's form, required when talking to AWS. */
const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** What the AWS SDK accepts as a region at all (one hostname label): with a local endpoint, any of these. */
const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * AWS_REGION and AWS_DEFAULT_REGION: like `us-east-1` when DynamoDB is AWS's; with a local endpoint
 * any name the SDK takes (`local`, `localhost`, as DynamoDB Local users set it).
 */
function checkRegion(env: NodeJS.ProcessEnv, values: { AWS_REGION?: string; AWS_DEFAULT_REGION?: string }, local: boolean): void {
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const value = values[name];
    if (value === undefined) continue;
    const problem = local
      ? HOST_LABEL.test(value)
        ? undefined
        : 'must be letters, digits and inner hyphens (a name the AWS SDK accepts)'
      : AWS_REGION_PATTERN.test(value)
        ? undefined
        : 'must look like us-east-1 (any name only with a local DYNAMODB_ENDPOINT)';
    if (problem) throw new ConfigError(`Invalid configuration: ${name} ${problem} (got ${JSON.stringify(env[name])})`);
  }
}

/** Signs cursors when nothing else is configured, with a local endpoint only: it is public. */
const LOCAL_CURSOR_SECRET = 'cruddur-local-cursor-secret-not-for-production';

/** The original Cruddur frontend's development server, allowed by the local stack. */
export const LOCAL_FRONTEND_ORIGIN = 'http://localhost:3000';

export const DEFAULT_USER_CACHE_SECONDS = 60;

export const DEFAULT_LIVE_LIMITS: LiveLimits = { heartbeatSeconds: 15, maxStreamsPerUser: 5, maxStreams: 5_000, bufferEvents: 256 };

export const DEFAULT_RATE_LIMITS: RateLimits = { messagesPerMinute: 120, newConversationsPerHour: 30, publicPerMinute: 60 };

/** Reads and validates the environment. Throws a ConfigError whose message is one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message} (got ${JSON.stringify(env[name])})`);
  }
  const e = parsed.data;
  const endpoint = e.DYNAMODB_ENDPOINT ?? e.AWS_ENDPOINT_URL;
  const local = isLocalEndpoint(endpoint);
  checkRegion(env, e, local);
  const appEnv = e.APP_ENV ?? (local ? 'local' : 'aws');
  if (e.STREAM_EMULATOR === 'on' && !local) {
    throw new ConfigError(
      `Invalid configuration: STREAM_EMULATOR=on needs a local DynamoDB endpoint (DYNAMODB_ENDPOINT), got ${endpoint ? JSON.stringify(endpoint) : "AWS's own"}; on AWS the table's stream drives the projector Lambda`,
    );
  }
  return {
    appEnv,
    port: e.PORT ?? 4567,
    host: e.HOST ?? (appEnv === 'aws' ? '0.0.0.0' : '127.0.0.1'),
    aws: { region: e.AWS_REGION ?? e.AWS_DEFAULT_REGION ?? 'us-east-1' },
    dynamodb: {
      endpoint,
      table: e.DDB_MESSAGE_TABLE ?? 'cruddur-messages',
    },
    databaseUrl: e.DATABASE_URL ?? e.CONNECTION_URL,
    cognito: {
      userPoolId: e.AWS_COGNITO_USER_POOL_ID,
      clientId: e.AWS_COGNITO_USER_POOL_CLIENT_ID,
      endpoint: e.COGNITO_ENDPOINT,
      issuer:
        e.COGNITO_ISSUER ??
        (e.COGNITO_ENDPOINT && e.AWS_COGNITO_USER_POOL_ID ? emulatorPoolUrl(e.COGNITO_ENDPOINT, e.AWS_COGNITO_USER_POOL_ID) : undefined),
    },
    cursorSecret: e.CURSOR_SECRET ?? (local && appEnv !== 'aws' ? LOCAL_CURSOR_SECRET : undefined),
    streamEmulator: e.STREAM_EMULATOR ? e.STREAM_EMULATOR === 'on' : local && appEnv !== 'aws',
    local: {
      dynamodbPort: e.LOCAL_DYNAMODB_PORT ?? 8000,
      cognitoPort: e.LOCAL_COGNITO_PORT ?? 9229,
      postgresPort: e.LOCAL_POSTGRES_PORT ?? 5433,
    },
    corsOrigins: e.CORS_ORIGINS ?? (appEnv === 'local' ? [LOCAL_FRONTEND_ORIGIN] : []),
    redisUrl: e.REDIS_URL,
    live: {
      heartbeatSeconds: e.LIVE_HEARTBEAT_SECONDS ?? DEFAULT_LIVE_LIMITS.heartbeatSeconds,
      maxStreamsPerUser: e.LIVE_MAX_STREAMS_PER_USER ?? DEFAULT_LIVE_LIMITS.maxStreamsPerUser,
      maxStreams: e.LIVE_MAX_STREAMS ?? DEFAULT_LIVE_LIMITS.maxStreams,
      bufferEvents: e.LIVE_BUFFER_EVENTS ?? DEFAULT_LIVE_LIMITS.bufferEvents,
    },
    trustProxyHops: e.TRUST_PROXY_HOPS ?? 0,
    rateLimits: {
      messagesPerMinute: e.RATE_LIMIT_MESSAGES_PER_MINUTE ?? DEFAULT_RATE_LIMITS.messagesPerMinute,
      newConversationsPerHour: e.RATE_LIMIT_NEW_CONVERSATIONS_PER_HOUR ?? DEFAULT_RATE_LIMITS.newConversationsPerHour,
      publicPerMinute: e.RATE_LIMIT_PUBLIC_PER_MINUTE ?? DEFAULT_RATE_LIMITS.publicPerMinute,
    },
    userCacheSeconds: e.USER_CACHE_SECONDS ?? DEFAULT_USER_CACHE_SECONDS,
  };
}

/**
 * The configuration `npm run local` starts from: the environment, with the DynamoDB endpoint of the
 * stack's own emulator (`127.0.0.1:LOCAL_DYNAMODB_PORT`) in place of any other, since the stack
 * replaces it. So its defaults are a local endpoint's (APP_ENV `local`, the stream emulator, the
 * local cursor secret, any region), and what the environment sets explicitly is kept.
 */
export function loadLocalStackConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const config = loadConfig({ ...env, DYNAMODB_ENDPOINT: 'http://127.0.0.1', AWS_ENDPOINT_URL: undefined });
  return { ...config, dynamodb: { ...config.dynamodb, endpoint: `http://127.0.0.1:${config.local.dynamodbPort}` } };
}

/**
 * AWS SDK v3 warns on every start that later releases need Node 22. The versions are pinned in
 * package-lock.json, so the warning says nothing actionable to an operator.
 */
export function silenceAwsSdkNodeWarning(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** The Cognito emulator's URL of a pool: its tokens' issuer, and the base of its JWKS. */
export function emulatorPoolUrl(endpoint: string, userPoolId: string): string {
  return `${endpoint.replace(/\/$/, '')}/${userPoolId}`;
}
