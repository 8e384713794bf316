/**
 * The time bounds of every call to a dependency and of the HTTP server, in one place (README:
 * Security). A dependency that stops answering (a frozen process, a network black hole) costs a
 * request at most these bounds, then a 503 with Retry-After; nothing waits on it for minutes.
 */
export const TIMEOUTS = {
  dynamodb: {
    /** TCP connect to DynamoDB. */
    connectMs: 1_000,
    /** One request, sent to answered. The SDK retries it (`attempts` in all) with backoff. */
    requestMs: 3_000,
    attempts: { aws: 3, local: 2 },
    /** The SDK's waits before its retries, at most (throttling: up to 500 ms × 2^retry each). */
    retryBackoffMs: 3_000,
  },
  postgres: {
    /** A connection from the pool: waiting for a free one, or opening a new one. */
    acquireMs: 3_000,
    /** Client side: a query not answered by then is abandoned and its connection closed. */
    queryMs: 5_000,
    /** Server side: Postgres cancels a statement running longer (before the client gives up). */
    statementMs: 4_000,
    /** TCP keep-alive probes on idle connections, so a dead peer is noticed. */
    keepAliveDelayMs: 10_000,
    /** Idle connections are closed after this (a fresh one replaces them on demand). */
    idleMs: 10_000,
    /** The scripts' bounds (db:migrate may build an index over every user). */
    script: { queryMs: 600_000, statementMs: 590_000 },
  },
  cognito: {
    /** Fetching the pool's signing keys (JWKS). */
    jwksMs: 3_000,
    connectMs: 2_000,
    /** One admin API call of the scripts (list users, create pool, …). */
    requestMs: 5_000,
  },
  redis: {
    connectMs: 2_000,
    /** One rate-limit command; past it the task counts in memory instead. */
    commandMs: 500,
    /** TCP keep-alive probes on idle connections, so a dead peer is noticed. */
    keepAliveMs: 10_000,
    /** How often a live-events subscription, which sends nothing itself, is checked with a PING. */
    livenessMs: 10_000,
  },
  http: {
    /** The Application Load Balancer's idle timeout (infra sets it from here). */
    loadBalancerIdleSeconds: 60,
    /**
     * Keep-alive of idle client connections: longer than the load balancer's idle timeout, so the
     * load balancer, not Node, closes an idle connection (else it may reuse one Node just closed: a 502).
     */
    keepAliveMs: 65_000,
    /** Node requires the headers timeout to exceed keep-alive (a request's headers on a reused connection). */
    headersMs: 66_000,
    /** A whole request (headers and body) must arrive within this. */
    requestMs: 30_000,
  },
} as const;
