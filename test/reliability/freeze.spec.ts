import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { TcpProxy } from '../support/tcp-proxy.js';
import type { ApiResponse } from './api-client.js';
import { ReliabilityFigures } from './figures.js';
import { ServiceStack, type StackUser } from './service-stack.js';
import type { CreatedMessageView } from '../../src/messages/dto/message.views.js';

/*
 * Dependencies that stop answering without going away (issue 10): cognito-local and dynalite frozen
 * with SIGSTOP (ports and connections open, no answers), Postgres behind a network black hole
 * (packets dropped both ways; after it heals, the connections it swallowed stay dead). While a
 * dependency is out, every request that needs it ends within REQUEST_BOUND_MS with 503 and
 * Retry-After; once it is back, the service answers 200 again within RECOVERY_BOUND_MS by itself;
 * the posts refused meanwhile, retried with their Idempotency-Key, are stored exactly once.
 */
const REQUEST_BOUND_MS = 10_000;
const RECOVERY_BOUND_MS = 20_000;
/** The test's own guard: a request still pending after this is reported as hung. */
const HUNG_MS = 30_000;

const figures = new ReliabilityFigures('freeze');
let stack: ServiceStack;
let pgProxy: TcpProxy;
let alice: StackUser;
let bob: StackUser;
let token: string;
let group: string;

beforeAll(async () => {
  stack = await ServiceStack.start({
    databaseUrl: async (db) => {
      const proxied = await TcpProxy.forUrl(db.url);
      pgProxy = proxied.proxy;
      return proxied.url;
    },
  });
  [alice, bob] = await Promise.all([
    stack.createUser(`fza_${randomUUID().slice(0, 6)}`),
    stack.createUser(`fzb_${randomUUID().slice(0, 6)}`),
  ]);
  token = await stack.accessToken(alice);
}, 60_000);

afterAll(async () => {
  await pgProxy?.stop();
  await stack?.stop();
  figures.set('totals', 'requests', stack?.api.requests ?? 0);
  figures.print();
}, 60_000);

interface Timed {
  res?: ApiResponse;
  ms: number;
}

/** The request's answer and how long it took; no answer within HUNG_MS is a hang (`res` undefined). */
async function timed(request: () => Promise<ApiResponse>): Promise<Timed> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), HUNG_MS)));
  const res = await Promise.race([request(), hung]).finally(() => clearTimeout(timer));
  return { res, ms: Math.round(performance.now() - started) };
}

/** What each request got while the dependency was out: `status in ms`, for readable failures. */
function outcomes(results: Timed[]): string[] {
  return results.map(({ res, ms }) =>
    res
      ? `${res.status}${res.status === 503 && !res.headers['retry-after'] ? ' without Retry-After' : ''} in ${ms > REQUEST_BOUND_MS ? 'over bound' : 'bound'}`
      : 'hung',
  );
}

/** How long after `since` the request first answers 200; polls with bounded requests until RECOVERY_BOUND_MS + HUNG_MS. */
async function recoveryMs(request: () => Promise<ApiResponse>, since: number): Promise<number> {
  for (;;) {
    const { res } = await timed(request);
    const elapsed = performance.now() - since;
    if (res?.status === 200) return Math.round(elapsed);
    if (elapsed > RECOVERY_BOUND_MS + HUNG_MS) return Number.POSITIVE_INFINITY;
  }
}

const post = (body: object, key: string, as = token) => stack.api.post('/api/messages', as, body, { 'idempotency-key': key });

/** Each keyed post retried after the outage: 200, and each message stored exactly once. */
async function expectStoredOnce(posts: { body: object; key: string }[], conversation: () => string): Promise<void> {
  const retried = await Promise.all(posts.map(({ body, key }) => post(body, key)));
  expect(retried.map((r) => r.status)).toEqual(posts.map(() => 200));
  await stack.drain();
  const stored = await stack.repository.listAllMessages(conversation());
  for (const res of retried) {
    const created = res.body as CreatedMessageView;
    expect(stored.filter((m) => m.message === created.message)).toEqual([
      expect.objectContaining({ message_uuid: created.uuid, created_at: created.created_at }),
    ]);
  }
}

describe("Cognito's signing keys out of reach (cognito-local frozen before any token was checked)", () => {
  it('answers 503 with Retry-After within the bound, not 401, and 200 once Cognito is back', async () => {
    stack.signalCognito('SIGSTOP');
    let thawedAt: number;
    try {
      const results = await Promise.all([
        timed(() => stack.api.get('/api/message_groups', token)),
        timed(() => post({ message: 'hello', handle: bob.handle }, randomUUID())),
      ]);
      figures.add('cognito frozen', 'requests', results.length);

      expect(outcomes(results)).toEqual(results.map(() => '503 in bound'));
    } finally {
      stack.signalCognito('SIGCONT');
      thawedAt = performance.now();
    }
    const recovered = await recoveryMs(() => stack.api.get('/api/message_groups', token), thawedAt);
    figures.set('cognito frozen', 'recovered in ms', recovered);
    expect(recovered).toBeLessThan(RECOVERY_BOUND_MS);

    const start = await post({ message: 'first', handle: bob.handle }, randomUUID());
    expect(start.status).toBe(200);
    group = (start.body as CreatedMessageView).message_group_uuid;
  });
});

describe('DynamoDB frozen (dynalite stopped with SIGSTOP)', () => {
  it('answers every request with 503 and Retry-After within the bound, recovers by itself, and loses or doubles nothing', async () => {
    const posts = [
      { body: { message: 'reply while frozen', message_group_uuid: group }, key: randomUUID() },
      { body: { message: 'by handle while frozen', handle: bob.handle }, key: randomUUID() },
    ];
    stack.dynalite.freeze();
    let thawedAt: number;
    try {
      const results = await Promise.all([
        timed(() => stack.api.get('/api/message_groups', token)),
        timed(() => stack.api.get(`/api/messages/${group}`, token)),
        ...posts.map(({ body, key }) => timed(() => post(body, key))),
        timed(() => stack.api.get('/api/health')),
      ]);
      figures.add('dynamodb frozen', 'requests', results.length);

      expect(outcomes(results)).toEqual(results.map(() => '503 in bound'));
    } finally {
      stack.dynalite.thaw();
      thawedAt = performance.now();
    }
    const recovered = await recoveryMs(() => stack.api.get(`/api/messages/${group}`, token), thawedAt);
    figures.set('dynamodb frozen', 'recovered in ms', recovered);
    expect(recovered).toBeLessThan(RECOVERY_BOUND_MS);

    await expectStoredOnce(posts, () => group);
  });
});

describe('Postgres behind a network black hole', () => {
  it('answers every request that needs Postgres with 503 and Retry-After within the bound, and recovers once the network heals', async () => {
    // Fill the pool with open connections first: those are the ones the black hole swallows.
    await Promise.all(Array.from({ length: 12 }, () => stack.api.get(`/api/users/@${bob.handle}/short`)));
    const carol = await stack.createUser(`fzc_${randomUUID().slice(0, 6)}`);
    const carolToken = await stack.accessToken(carol); // never seen by the API: its user lookup needs Postgres
    const posts = [{ body: { message: 'keyed while black-holed', message_group_uuid: group }, key: randomUUID() }];
    pgProxy.blackhole();
    let healedAt: number;
    try {
      const results = await Promise.all([
        timed(() => stack.api.get(`/api/users/@${bob.handle}/short`)),
        timed(() => stack.api.get('/api/message_groups', carolToken)),
        ...posts.map(({ body, key }) => timed(() => post(body, key))),
        timed(() => stack.api.get('/api/health')),
      ]);
      figures.add('postgres black hole', 'requests', results.length);

      expect(outcomes(results)).toEqual(results.map(() => '503 in bound'));
    } finally {
      pgProxy.heal();
      healedAt = performance.now();
    }
    const recovered = await recoveryMs(() => stack.api.get(`/api/users/@${bob.handle}/short`), healedAt);
    figures.set('postgres black hole', 'recovered in ms', recovered);
    expect(recovered).toBeLessThan(RECOVERY_BOUND_MS);
    expect((await timed(() => stack.api.get('/api/message_groups', carolToken))).res?.status).toBe(200);

    await expectStoredOnce(posts, () => group);
  });
});
