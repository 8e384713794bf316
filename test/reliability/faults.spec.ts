import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { TcpProxy } from '../support/tcp-proxy.js';
import type { ApiResponse } from './api-client.js';
import { ReliabilityFigures } from './figures.js';
import { ServiceStack, type StackUser } from './service-stack.js';
import { auditTable, settledTableProblems } from './table-audit.js';
import type { CreatedMessageView } from '../../src/messages/dto/message.views.js';

/*
 * Faults (issue 6, reliability 2), each while senders keep posting through the API:
 * (a) the projector's DynamoDB commands fail at random (a throttling error injected in its own
 *     client), and the change-capture emulator retries until every record is applied;
 * (b) dynalite (its own process, data in a directory) is killed, or stopped gracefully, and started
 *     again on the same port with the same data;
 * (c) Postgres becomes unreachable (a TcpProxy between the service and the machine's Postgres is
 *     cut; the shared server itself is never touched), then reachable again.
 * Fault windows are driven by requests, not timers: the fault starts once a quarter of the
 * messages are acknowledged and ends once every sender still running has been refused. A refused
 * sender waits for the recovery (a promise), then retries with the same Idempotency-Key.
 */
const figures = new ReliabilityFigures('faults');
let stack: ServiceStack;
let pgProxy: TcpProxy;

beforeAll(async () => {
  stack = await ServiceStack.start({
    persistDynamo: true,
    databaseUrl: async (db) => {
      const proxied = await TcpProxy.forUrl(db.url);
      pgProxy = proxied.proxy;
      return proxied.url;
    },
    // Generous retries: an outage lasts many doublings of 2 ms.
    projector: { failShare: 0, maxAttempts: 40, backoffMs: 2 },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await pgProxy?.stop();
  const groups = ['projector faults', 'dynalite crash', 'dynalite close', 'postgres outage'];
  const sum = (names: string[]) => groups.reduce((n, g) => n + names.reduce((m, name) => m + figures.get(g, name), 0), 0);
  figures.set('totals', 'requests', stack?.api.requests ?? 0);
  figures.set(
    'totals',
    'faults injected',
    sum(['faults injected']) +
      figures.get('dynalite restarts', 'kills') +
      figures.get('dynalite restarts', 'graceful stops') +
      figures.get('postgres outage', 'cuts'),
  );
  figures.set('totals', 'losses found', sum(['lost', 'duplicated', 'table problems', 'orphan group items']));
  figures.print();
});

interface Outcome {
  key: string;
  text: string;
  statuses: number[];
  created?: CreatedMessageView;
}

interface Conversation {
  members: [StackUser, StackUser];
  group: string;
}

const tokens = new Map<string, string>();

async function users(n: number, prefix: string): Promise<StackUser[]> {
  const created = await Promise.all(Array.from({ length: n }, (_, i) => stack.createUser(`${prefix}${i}_${randomUUID().slice(0, 6)}`)));
  for (const user of created) tokens.set(user.uuid, await stack.accessToken(user));
  return created;
}

/** `n` conversations around a ring of `n` users, each opened with one message. */
async function ringOfConversations(n: number, prefix: string): Promise<Conversation[]> {
  const ring = await users(n, prefix);
  return Promise.all(
    ring.map(async (a, i) => {
      const b = ring[(i + 1) % n];
      const res = await stack.api.post('/api/messages', tokens.get(a.uuid), { message: `${prefix} opens ${i}`, handle: b.handle });
      expect(res.status).toBe(200);
      return { members: [a, b] as [StackUser, StackUser], group: (res.body as CreatedMessageView).message_group_uuid };
    }),
  );
}

interface LoadOptions {
  conversations: Conversation[];
  sendersPerConversation: number;
  messagesPerSender: number;
  prefix: string;
  /** Called with every response (to count outcomes and notice an outage). */
  onResponse?: (res: ApiResponse) => void;
  /** Resolves when a refused sender may retry. */
  recovered?: () => Promise<void>;
  onRefused?: (sender: number) => void;
  onDone?: (sender: number) => void;
}

/** Senders replying in their conversations, every message with its own Idempotency-Key, retried after a 503 until acknowledged. */
async function runSenders(options: LoadOptions): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const senders = options.conversations.flatMap((conversation, c) =>
    Array.from({ length: options.sendersPerConversation }, (_, s) => ({ conversation, c, s, me: conversation.members[s % 2] })),
  );
  await Promise.all(
    senders.map(async ({ conversation, c, s, me }, index) => {
      for (let i = 0; i < options.messagesPerSender; i++) {
        const outcome: Outcome = { key: `${options.prefix}-${c}-${s}-${i}`, text: `${options.prefix} c${c} s${s} #${i}`, statuses: [] };
        outcomes.push(outcome);
        while (!outcome.created) {
          const res = await stack.api.post(
            '/api/messages',
            tokens.get(me.uuid),
            { message: outcome.text, message_group_uuid: conversation.group },
            { 'idempotency-key': outcome.key },
          );
          outcome.statuses.push(res.status);
          options.onResponse?.(res);
          if (res.status === 200) outcome.created = res.body as CreatedMessageView;
          else if (res.status === 503 && options.recovered) {
            options.onRefused?.(index);
            await options.recovered();
          } else break;
        }
      }
      options.onDone?.(index);
    }),
  );
  return outcomes;
}

/** Audits the table against what senders were told: returns the audit, the acknowledged messages lost, those stored twice, and table problems. */
async function auditOutcomes(outcomes: Outcome[], group: string) {
  await stack.drain();
  const audit = await auditTable(stack.repository);
  const stored = new Map(audit.messages.map((m) => [m.message_uuid, m]));
  const byText = new Map<string, number>();
  for (const m of audit.messages) byText.set(m.message, (byText.get(m.message) ?? 0) + 1);
  const lost = outcomes.filter(
    (o) => !o.created || stored.get(o.created.uuid)?.sk !== o.created.created_at || stored.get(o.created.uuid)?.message !== o.text,
  );
  const duplicated = outcomes
    .filter((o) => (byText.get(o.text) ?? 0) > 1)
    .map((o) => `${o.text} (stored ${byText.get(o.text)}×, statuses ${o.statuses.join(' ')})`);
  const problems = settledTableProblems(audit);
  figures.add(group, 'messages acknowledged', outcomes.filter((o) => o.created).length);
  figures.add(group, 'lost', lost.length);
  figures.add(group, 'duplicated', duplicated.length);
  figures.add(group, 'table problems', problems.length);
  return { audit, lost, duplicated, problems };
}

/**
 * Drives a fault window by requests: `down()` once `startAfter` messages are acknowledged; while
 * it is down, `during()` probes; `up()` once every sender still running has been refused and the
 * probes are done. Senders refused meanwhile wait for `recovered`.
 */
function faultWindow(options: {
  startAfter: number;
  senders: number;
  down: () => Promise<void>;
  during: () => Promise<void>;
  up: () => Promise<void>;
}) {
  let acknowledged = 0;
  let state: 'before' | 'down' | 'up' = 'before';
  const blocked = new Set<number>();
  const done = new Set<number>();
  let probed: Promise<void> | undefined;
  let recover!: () => void;
  const recovered = new Promise<void>((resolve) => (recover = resolve));
  let failed: unknown;
  const maybeRestore = () => {
    if (state !== 'down' || !probed || blocked.size + done.size < options.senders) return;
    state = 'up';
    probed
      .then(() => options.up())
      .catch((error: unknown) => (failed = error))
      .finally(() => recover());
  };
  return {
    recovered: () => recovered,
    get error() {
      return failed;
    },
    onResponse: (res: ApiResponse) => {
      if (res.status === 200) acknowledged++;
      if (state === 'before' && acknowledged >= options.startAfter) {
        state = 'down';
        probed = options
          .down()
          .then(() => options.during())
          .catch((error: unknown) => void (failed = error))
          .finally(maybeRestore);
      }
    },
    onRefused: (sender: number) => {
      blocked.add(sender);
      maybeRestore();
    },
    onDone: (sender: number) => {
      done.add(sender);
      maybeRestore();
    },
  };
}

describe('the projector failing on random records', () => {
  it('retries until every record is applied: every conversation converges', async () => {
    const conversations = await ringOfConversations(8, `proj${randomUUID().slice(0, 4)}`);
    const before = await stack.stats();
    await stack.setProjectorFailShare(0.05);

    const outcomes = await runSenders({ conversations, sendersPerConversation: 5, messagesPerSender: 25, prefix: 'proj' });
    await stack.drain();
    await stack.setProjectorFailShare(0);
    const { lost, duplicated, problems } = await auditOutcomes(outcomes, 'projector faults');
    const after = await stack.stats();
    const injected = after.faultsInjected - before.faultsInjected;
    figures.add('projector faults', 'faults injected', injected);
    figures.add('projector faults', 'records given up', after.logged['error: change-capture emulator gave up on records'] ?? 0);

    expect(outcomes.every((o) => o.statuses.join() === '200')).toBe(true);
    expect(injected).toBeGreaterThan(20);
    expect(Object.keys(after.faultsByCommand).sort()).toEqual(
      expect.arrayContaining(['DeleteItemCommand', 'PutItemCommand', 'QueryCommand']),
    );
    expect(after.logged['error: change-capture emulator gave up on records']).toBeUndefined();
    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(problems).toEqual([]);
  }, 120_000);
});

describe.each([
  ['killed (SIGKILL) and restarted', 'crash'],
  ['stopped gracefully and restarted', 'close'],
] as const)('dynalite %s mid-run', (_, how) => {
  it('answers 503 (never 500) meanwhile, leaves nothing half-written, and recovers', async () => {
    const prefix = `ddb${how}${randomUUID().slice(0, 4)}`;
    const conversations = await ringOfConversations(6, prefix);
    const newcomers = await users(8, `${prefix}new`);
    const probes: Record<string, number[]> = {};
    const probe = async (name: string, res: Promise<ApiResponse>) => (probes[name] ??= []).push((await res).status);
    const sendersPerConversation = 4;
    const messagesPerSender = 15;
    const inFlightAtFault: Promise<ApiResponse>[] = [];
    const newcomerPost = (i: number) =>
      stack.api.post('/api/messages', tokens.get(newcomers[i].uuid), {
        message: `${prefix} newcomer ${i}`,
        handle: newcomers[i + 1].handle,
      });
    const window = faultWindow({
      startAfter: (conversations.length * sendersPerConversation * messagesPerSender) / 4,
      senders: conversations.length * sendersPerConversation,
      down: async () => {
        // Conversations being created while dynalite goes down: some may be cut between their writes.
        inFlightAtFault.push(newcomerPost(0), newcomerPost(2));
        await (how === 'crash' ? stack.dynalite.crash() : stack.dynalite.close());
        figures.add('dynalite restarts', `${how === 'crash' ? 'kills' : 'graceful stops'}`);
      },
      during: async () => {
        const [a] = conversations[0].members;
        await probe('new conversation', newcomerPost(4));
        await probe('new conversation', newcomerPost(6));
        await probe('conversations', stack.api.get('/api/message_groups', tokens.get(a.uuid)));
        await probe('messages', stack.api.get(`/api/messages/${conversations[0].group}`, tokens.get(a.uuid)));
        await probe('health', stack.api.get('/api/health'));
      },
      up: () => stack.dynalite.restart(),
    });

    const outcomes = await runSenders({ conversations, sendersPerConversation, messagesPerSender, prefix, ...window });
    const inFlight = await Promise.all(inFlightAtFault);
    const { audit, lost, duplicated, problems } = await auditOutcomes(outcomes, `dynalite ${how}`);
    const refused = outcomes.reduce((n, o) => n + o.statuses.filter((s) => s === 503).length, 0);
    figures.add(
      `dynalite ${how}`,
      '503 answers',
      refused +
        Object.values(probes)
          .flat()
          .filter((s) => s === 503).length,
    );
    const failedNewcomers = [0, 2, 4, 6].filter((i) => (i < 4 ? inFlight[i / 2].status : probes['new conversation'][i / 2 - 2]) !== 200);
    const orphans = audit.groups.filter((g) =>
      failedNewcomers.some((i) => g.owner === newcomers[i].uuid || g.owner === newcomers[i + 1].uuid),
    );
    figures.add(`dynalite ${how}`, 'orphan group items', orphans.length);

    expect(window.error).toBeUndefined();
    expect(refused).toBeGreaterThan(0);
    expect(outcomes.flatMap((o) => o.statuses).filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(probes).toEqual({ 'new conversation': [503, 503], conversations: [503], messages: [503], health: [503] });
    expect(inFlight.map((r) => r.status).filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(problems).toEqual([]);
    expect(orphans).toEqual([]);
    expect((await stack.api.get('/api/health')).status).toBe(200);
    expect((await newcomerPost(4)).status).toBe(200);
  }, 120_000);
});

describe('Postgres unreachable for a while', () => {
  it('answers 503 (never 500) meanwhile, loses and duplicates nothing, and recovers', async () => {
    const prefix = `pg${randomUUID().slice(0, 4)}`;
    const conversations = await ringOfConversations(6, prefix);
    const [stranger] = await users(1, `${prefix}stranger`); // never seen by the service: its user is not cached
    const probes: Record<string, number[]> = {};
    const probe = async (name: string, res: Promise<ApiResponse>) => (probes[name] ??= []).push((await res).status);
    const sendersPerConversation = 4;
    const messagesPerSender = 15;
    const window = faultWindow({
      startAfter: (conversations.length * sendersPerConversation * messagesPerSender) / 4,
      senders: conversations.length * sendersPerConversation,
      down: async () => {
        await pgProxy.cut();
        figures.add('postgres outage', 'cuts');
      },
      during: async () => {
        await probe('unknown user', stack.api.get('/api/message_groups', tokens.get(stranger.uuid)));
        await probe('profile', stack.api.get(`/api/users/@${stranger.handle}/short`));
        await probe('health', stack.api.get('/api/health'));
        await probe("known user's conversations", stack.api.get('/api/message_groups', tokens.get(conversations[0].members[0].uuid)));
      },
      up: () => pgProxy.restore(),
    });

    const outcomes = await runSenders({ conversations, sendersPerConversation, messagesPerSender, prefix, ...window });
    const { lost, duplicated, problems } = await auditOutcomes(outcomes, 'postgres outage');
    const refused = outcomes.reduce((n, o) => n + o.statuses.filter((s) => s === 503).length, 0);
    figures.add(
      'postgres outage',
      '503 answers',
      refused +
        Object.values(probes)
          .flat()
          .filter((s) => s === 503).length,
    );

    expect(window.error).toBeUndefined();
    expect(refused).toBeGreaterThan(0);
    expect(outcomes.flatMap((o) => o.statuses).filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(probes).toEqual({
      'unknown user': [503],
      profile: [503],
      health: [503],
      // The guard caches known users: a route that needs only DynamoDB keeps working.
      "known user's conversations": [200],
    });
    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(problems).toEqual([]);
    expect((await stack.api.get('/api/health')).status).toBe(200);
    expect((await stack.api.get('/api/message_groups', tokens.get(stranger.uuid))).status).toBe(200);
  }, 120_000);
});

describe('a write whose answer was lost', () => {
  it('is stored once when an Idempotency-Key retry follows an attempt that wrote the message but could not store its answer', async () => {
    const [{ members, group }] = await ringOfConversations(2, `lost${randomUUID().slice(0, 4)}`);
    const key = `lost-answer-${randomUUID()}`;
    const send = () =>
      stack.api.post(
        '/api/messages',
        tokens.get(members[0].uuid),
        { message: `keyed ${key}`, message_group_uuid: group },
        { 'idempotency-key': key },
      );
    const first = await send();
    // What the outage above produces at random: the message is written, the answer never stored.
    await stack.sql(`UPDATE public.idempotency_keys SET response = 'null' WHERE key = $1`, [key]);

    const retry = await send();

    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect((await stack.repository.listAllMessages(group)).filter((m) => m.message === `keyed ${key}`)).toHaveLength(1);
  });

  it('is stored once when a put is retried after it landed (same message uuid and time)', async () => {
    const group = randomUUID();
    const message = {
      message_group_uuid: group,
      message: 'retried put',
      sender: { uuid: randomUUID(), display_name: 'S', handle: 's' },
      message_uuid: randomUUID(),
      created_at: '2024-05-01T10:00:00.000001+00:00',
    };
    await stack.repository.putMessage({ ...message, message_uuid: randomUUID(), message: 'another message at the same microsecond' });
    const first = await stack.repository.putMessage(message);

    const again = await stack.repository.putMessage(message);

    expect(again.created_at).toBe(first.created_at);
    expect((await stack.repository.listAllMessages(group)).map((m) => m.message)).toEqual([
      'another message at the same microsecond',
      'retried put',
    ]);
  });
});
